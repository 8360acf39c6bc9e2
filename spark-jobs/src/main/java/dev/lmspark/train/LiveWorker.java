package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.spark.data.ExampleReader;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A worker's state as it lives in one executor JVM between rounds: its inner AdamW state (on the
 * device it trains on), its shard reader, the replica it trains (whose parameters every round
 * overwrites with the global ones it starts from, so nothing of them carries over), and the round
 * it is at. Never serialised whole: the reliable copies are the checkpoints' worker files. It may
 * keep a copy of the AdamW state taken at the start of its last round (device memory as large as
 * the state, allocated once and overwritten in place), from which a retried attempt, or a round
 * whose update was not finite, starts again without a replay.
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

    private NDManager replicaManager;
    private PretrainingTask replica;

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

    /**
     * The replica with the global parameters of {@code round} (as {@code shards} holds them): built
     * on first use, afterwards overwritten in place.
     */
    PretrainingTask replica(ModelConfig config, GlobalShards shards, long round)
            throws IOException {
        if (replica == null) {
            NDManager m = manager.newSubManager();
            try {
                Map<String, NDArray> params = shards.arrays(round, GlobalShards.Kind.PARAMS, m);
                params.values().forEach(NDScope::unregister);
                replica = new ModelWeights(config, params).task();
                replicaManager = m;
            } catch (IOException | RuntimeException e) {
                m.close();
                throw e;
            }
        } else {
            shards.readInto(round, GlobalShards.Kind.PARAMS, replica.parameters());
        }
        return replica;
    }

    /** Keeps a copy of the state as it is now (the end of {@link #round}). */
    void keepCopy() {
        Map<String, NDArray> state = optimizer.stateDict();
        if (copy != null && reusable(state)) {
            state.forEach((name, a) -> HostViews.copy(a, copy.get(name)));
        } else {
            dropCopy();
            copyManager = manager.newSubManager();
            copy = new LinkedHashMap<>();
            state.forEach(
                    (name, a) -> {
                        NDArray d = a.duplicate();
                        d.attach(copyManager);
                        NDScope.unregister(d);
                        copy.put(name, d);
                    });
        }
        if (deltaError == null) {
            deltaErrorCopy = null;
        } else if (deltaErrorCopy != null && deltaErrorCopy.length == deltaError.length) {
            System.arraycopy(deltaError, 0, deltaErrorCopy, 0, deltaError.length);
        } else {
            deltaErrorCopy = deltaError.clone();
        }
        copyRound = round;
    }

    /**
     * Whether the kept copy's arrays can take {@code state} in place (same entries, on the CPU).
     */
    private boolean reusable(Map<String, NDArray> state) {
        if (!copy.keySet().equals(state.keySet())) {
            return false;
        }
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            NDArray a = e.getValue();
            NDArray c = copy.get(e.getKey());
            if (!HostViews.viewable(a)
                    || !HostViews.viewable(c)
                    || a.getDataType() != c.getDataType()
                    || !a.getShape().equals(c.getShape())) {
                return false;
            }
        }
        return true;
    }

    /** Puts the kept copy back: the state is again the end of {@link #copyRound}. */
    void restoreCopy() {
        optimizer.loadStateDict(copy);
        if (deltaErrorCopy != null) {
            System.arraycopy(deltaErrorCopy, 0, deltaError, 0, deltaError.length);
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
            if (replicaManager != null) {
                replicaManager.close();
                replica = null;
            }
            optimizer.close();
            manager.close();
        } finally {
            lock.unlock();
        }
    }
}
