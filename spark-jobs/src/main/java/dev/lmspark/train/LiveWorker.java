package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.spark.data.ExampleReader;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A worker's state as it lives in one executor JVM between rounds: its inner AdamW state (on the
 * device it trains on), its shard reader, and the round it is at. Never serialised whole: the
 * reliable copies are the checkpoints' worker files. It may keep a copy of the AdamW state taken at
 * the start of its last round (device memory as large as the state), from which a retried attempt,
 * or a round whose update was not finite, starts again without a replay.
 */
final class LiveWorker {
    final String runId;
    final int worker;
    final NDManager manager;
    final AdamW optimizer;
    final ExampleReader reader;

    /** Held by the task training with, or writing, this state; closing waits for it. */
    final ReentrantLock lock = new ReentrantLock();

    /** The last round this state includes (-1: not built yet). */
    long round = -1;

    /** A task changed the state and did not finish: its contents are not a round's end. */
    boolean dirty;

    boolean closed;

    /**
     * With {@code --delta-precision bf16|int8}: the error feedback, what earlier rounds' updates
     * did not send, over the flat parameter vector ({@link ShardLayout}); null with fp32.
     */
    float[] deltaError;

    private NDManager copyManager;
    private Map<String, NDArray> copy;
    private float[] deltaErrorCopy;
    private long copyRound = -1;

    LiveWorker(String runId, int worker, NDManager manager, AdamW optimizer, ExampleReader reader) {
        this.runId = runId;
        this.worker = worker;
        this.manager = manager;
        this.optimizer = optimizer;
        this.reader = reader;
    }

    /** The round whose end the kept copy holds, or -1 when there is none. */
    long copyRound() {
        return copyRound;
    }

    /** Keeps a copy of the state as it is now (the end of {@link #round}). */
    void keepCopy() {
        dropCopy();
        copyManager = manager.newSubManager();
        copy = new LinkedHashMap<>();
        optimizer
                .stateDict()
                .forEach(
                        (name, a) -> {
                            NDArray d = a.duplicate();
                            d.attach(copyManager);
                            NDScope.unregister(d);
                            copy.put(name, d);
                        });
        deltaErrorCopy = deltaError == null ? null : deltaError.clone();
        copyRound = round;
    }

    /** Puts the kept copy back: the state is again the end of {@link #copyRound}. */
    void restoreCopy() {
        optimizer.loadStateDict(copy);
        if (deltaErrorCopy != null) {
            deltaError = deltaErrorCopy.clone();
        }
        round = copyRound;
        dirty = false;
    }

    private void dropCopy() {
        if (copyManager != null) {
            copyManager.close();
            copyManager = null;
            copy = null;
            deltaErrorCopy = null;
            copyRound = -1;
        }
    }

    /**
     * Frees the state's native memory once no task uses it (a cancelled task may still be finishing
     * its current step). Never call it while holding the cache's monitor.
     */
    void closeWhenIdle() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                reader.close();
            } catch (IOException e) {
                // nothing to lose: the reader only reads
            }
            dropCopy();
            optimizer.close();
            manager.close();
        } finally {
            lock.unlock();
        }
    }
}
