package dev.lmspark.train;

import dev.lmspark.model.train.StepResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import scala.Tuple2;

/**
 * The executor side of a round (Deeplearning4j's ParameterAveragingTrainingWorker, in lmspark's
 * terms): worker w's task of round r takes its live state ({@link LiveWorkers}: live, or restored,
 * or replayed — never a different bit), trains {@code --local-steps} steps ({@link LocalRound}) and
 * hands the sharded combine its update Δ = θ_end − θ_{r−1} cut into the layout's S pieces, one
 * shuffle record per shard, followed by its report (for every shard). The pieces are computed one
 * at a time as Spark's shuffle writer asks for them, so the task holds one piece of the update on
 * its heap, never the whole of it. The state stays live in the executor for the next round.
 */
final class Worker {
    private Worker() {}

    /** Round {@code spec.round()} of worker {@code worker}: the records of its update. */
    static Iterator<Tuple2<ShardPiece.Key, ShardPiece>> run(int worker, RoundSpec spec) {
        TaskContext task = TaskContext.get();
        long begin = System.nanoTime();
        // States homed elsewhere since the last round (not one trained in this round).
        LiveWorkers.release(spec.run().runId(), spec.homes(), executorId(), spec.round());
        long round = spec.round();
        LiveWorkers.Acquired acquired = LiveWorkers.acquire(worker, round - 1, spec, task);
        LiveWorker live = acquired.live();
        boolean handedOver = false;
        try {
            if (spec.run().roundStartCopy() && live.copyRound() != round - 1) {
                live.keepCopy();
            }
            live.dirty = true;
            LocalRound trained =
                    LocalRound.train(live, spec.run(), spec.shards(), round, task, true);
            trained.setupSeconds = (System.nanoTime() - begin) / 1e9 - trained.computeSeconds;
            Emission e = new Emission(live, trained, spec, acquired.restore());
            if (task != null) {
                task.addTaskCompletionListener(
                        (org.apache.spark.util.TaskCompletionListener) ctx -> e.finish(false));
            }
            handedOver = true;
            return e;
        } finally {
            if (!handedOver) {
                live.lock.unlock();
            }
        }
    }

    /** The round's records, computed as they are asked for; the state's lock held until the end. */
    private static final class Emission implements Iterator<Tuple2<ShardPiece.Key, ShardPiece>> {
        private final LiveWorker live;
        private final LocalRound trained;
        private final RoundSpec spec;
        private final WorkerReport.Restore restore;
        private final ShardLayout layout;
        private final boolean sendPieces;
        private int next;
        private double sumSquares;
        private boolean finite = true;
        private long deltaBytes;
        private double sendSeconds;
        private WorkerReport report;
        private boolean finished;

        Emission(
                LiveWorker live, LocalRound trained, RoundSpec spec, WorkerReport.Restore restore) {
            this.live = live;
            this.trained = trained;
            this.spec = spec;
            this.restore = restore;
            this.layout = spec.shards().layout();
            this.sendPieces = trained.lossFinite();
            this.next = sendPieces ? 0 : layout.shards();
        }

        @Override
        public boolean hasNext() {
            boolean more = next < 2 * layout.shards();
            if (!more) {
                finish(true);
            }
            return more;
        }

        @Override
        public Tuple2<ShardPiece.Key, ShardPiece> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int s = next++;
            ShardPiece piece;
            if (s < layout.shards()) {
                long t = System.nanoTime();
                float[] delta;
                try {
                    delta = trained.delta(s);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                for (float x : delta) {
                    sumSquares += (double) x * x;
                    finite &= Float.isFinite(x);
                }
                DeltaCodec.Encoded sent =
                        DeltaCodec.encode(
                                spec.run().config().deltaCodec(),
                                delta,
                                live.deltaError,
                                (int) layout.start(s));
                deltaBytes += sent.bytes();
                piece = new ShardPiece(s, 1, live.worker, null, sent);
                sendSeconds += (System.nanoTime() - t) / 1e9;
            } else {
                piece = new ShardPiece(s - layout.shards(), 0, live.worker, report(), null);
            }
            return new Tuple2<>(piece.key(), piece);
        }

        private WorkerReport report() {
            if (report == null) {
                boolean ok = sendPieces && finite;
                report =
                        new WorkerReport(
                                live.worker,
                                spec.round(),
                                ok,
                                ok ? Math.sqrt(sumSquares) : Double.NaN,
                                trained.tokens,
                                trained.examples,
                                new ArrayList<StepResult.TermSum>(trained.terms.values()),
                                trained.lastLr,
                                trained.computeSeconds,
                                trained.setupSeconds,
                                sendSeconds,
                                executorId(),
                                host(),
                                restore,
                                trained.bytesRead,
                                residentBytes(),
                                deltaBytes);
            }
            return report;
        }

        /**
         * Ends the round once: the state is the round's end (or, when its update was not finite,
         * the start's again); a task that failed or was cancelled before its last record leaves it
         * dirty, and the next task restores or replays it.
         */
        synchronized void finish(boolean completed) {
            if (finished) {
                return;
            }
            finished = true;
            try {
                if (completed) {
                    boolean ok = report().finite();
                    if (!ok && live.copyRound() == spec.round() - 1) {
                        // A dropped round leaves the worker where it was, counted as done.
                        live.restoreCopy();
                        ok = true;
                    }
                    if (ok) {
                        live.round = spec.round();
                        live.dirty = false;
                    }
                    // else the state stays dirty: the next round replays this one (and drops it)
                }
            } finally {
                trained.close();
                live.lock.unlock();
            }
        }
    }

    /** VmRSS of this JVM from /proc/self/status, in bytes; -1 where there is none. */
    static long residentBytes() {
        try {
            for (String line :
                    java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024; // kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: unknown
        }
        return -1;
    }

    static String executorId() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "driver" : env.executorId();
    }

    static String host() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "localhost" : env.blockManager().blockManagerId().host();
    }
}
