package dev.lmspark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.lmspark.model.Devices;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.spark.data.ExampleReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The live worker states of one executor JVM (one run at a time), and how a task gets the state it
 * needs: live when the executor holds it at exactly the round asked for; else from the copy kept at
 * the round's start; else rebuilt from the last reliable copy (the last published checkpoint's
 * worker file, or an empty state at a fresh start) and replayed exactly, round by round, from the
 * global parameters each round started from (kept in {@link GlobalShards} since that checkpoint).
 * When a round's parameters are gone, the state is reset to the reliable copy instead, and the
 * task's report says so. So where a task runs, or how often it is retried, never changes a bit.
 */
final class LiveWorkers {
    private static final Map<Integer, LiveWorker> LIVE = new HashMap<>();

    private LiveWorkers() {}

    /** A worker's state at a round's end, locked by the caller's thread, and how it was found. */
    record Acquired(LiveWorker live, WorkerReport.Restore restore) {}

    /**
     * Worker {@code worker}'s state at the end of round {@code at}, locked: the caller unlocks
     * {@code live().lock} when done.
     */
    static Acquired acquire(int worker, long at, RoundSpec spec, TaskContext task) {
        RunSpec run = spec.run();
        while (true) {
            List<LiveWorker> stale = new ArrayList<>();
            LiveWorker live;
            String why;
            synchronized (LIVE) {
                stale.addAll(dropOtherRuns(run.runId()));
                live = LIVE.get(worker);
                why = whyNotLive(live, at);
                if (why != null && (live == null || live.copyRound() != at)) {
                    if (live != null) {
                        stale.add(live);
                    }
                    live = create(worker, run, device(task));
                    if (run.config().deltaCodec() != DeltaCodec.Precision.FP32) {
                        live.deltaError = new float[errorLength(spec.shards().layout())];
                    }
                    LIVE.put(worker, live);
                }
            }
            stale.forEach(LiveWorker::closeWhenIdle);
            live.lock.lock();
            boolean ok = false;
            try {
                if (live.closed) {
                    continue; // released while this task waited: look again
                }
                WorkerReport.Restore restore;
                if (why == null && live.round == at && !live.dirty) {
                    restore = WorkerReport.Restore.live();
                } else if (live.round != -1 && live.copyRound() == at) {
                    live.restoreCopy();
                    restore =
                            new WorkerReport.Restore(
                                    WorkerReport.Source.ROUND_START_COPY, at, 0, -1, why);
                } else {
                    restore = rebuild(live, at, spec, task, why);
                }
                ok = true;
                return new Acquired(live, restore);
            } finally {
                if (!ok) {
                    live.lock.unlock();
                }
            }
        }
    }

    /** Why {@code live} cannot be used as the end of round {@code at}, or null when it can. */
    private static String whyNotLive(LiveWorker live, long at) {
        if (live == null) {
            return "this executor did not hold its state";
        }
        if (live.dirty) {
            return "an earlier attempt on this executor did not finish";
        }
        if (live.round != at) {
            return "this executor held its state at round " + live.round + ", not " + at;
        }
        return null;
    }

    private static LiveWorker create(int worker, RunSpec run, Device device) {
        NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE);
        AdamW optimizer = AdamW.withDefaults(manager, (float) run.config().weightDecay());
        try {
            ExampleReader reader =
                    new ExampleReader(run.dataset(), "train", run.hadoop().value(), 2);
            return new LiveWorker(run.runId(), worker, manager, optimizer, reader);
        } catch (RuntimeException e) {
            optimizer.close();
            manager.close();
            throw e;
        }
    }

    /**
     * Rebuilds {@code live} as the end of round {@code at}: the reliable copy of {@code spec}'s
     * base round, then every round after it replayed from the parameters it started from.
     */
    private static WorkerReport.Restore rebuild(
            LiveWorker live, long at, RoundSpec spec, TaskContext task, String why) {
        RunSpec run = spec.run();
        long base = spec.baseRound();
        if (at < base) {
            throw new IllegalStateException(
                    "worker " + live.worker + " needs round " + at + ", before its base " + base);
        }
        live.dirty = true;
        try {
            readReliableCopy(live, spec);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot read worker " + live.worker + "'s state from " + spec.baseCheckpoint(),
                    e);
        }
        live.round = base;
        for (long k = base + 1; k <= at; k++) {
            if (!spec.shards().has(k - 1, GlobalShards.Kind.PARAMS)) {
                live.round = at;
                live.dirty = false;
                return new WorkerReport.Restore(WorkerReport.Source.RESET, base, 0, k - 1, why);
            }
            live.keepCopy();
            try (LocalRound r = LocalRound.train(live, run, spec.shards(), k, task, false)) {
                if (!r.lossFinite() || !replayUpdate(live, r, spec)) {
                    live.restoreCopy(); // the round was dropped: its state is the one before
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            live.round = k;
        }
        live.dirty = false;
        return new WorkerReport.Restore(WorkerReport.Source.REPLAYED, base, at - base, -1, why);
    }

    /**
     * What a replayed round's update does to the state besides the optimizer: whether it is finite
     * and, with compressed updates, the error feedback it leaves (as its sending did).
     */
    private static boolean replayUpdate(LiveWorker live, LocalRound r, RoundSpec spec)
            throws IOException {
        ShardLayout layout = spec.shards().layout();
        DeltaCodec.Precision precision = spec.run().config().deltaCodec();
        boolean finite = true;
        for (int s = 0; s < layout.shards(); s++) {
            float[] d = r.delta(s);
            for (float x : d) {
                finite &= Float.isFinite(x);
            }
            if (precision != DeltaCodec.Precision.FP32) {
                DeltaCodec.encode(precision, d, live.deltaError, (int) layout.start(s));
            }
        }
        return finite;
    }

    /** The error feedback's length: P, refused past what one array holds. */
    static int errorLength(ShardLayout layout) {
        if (layout.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    layout.size()
                            + " parameters are more than compressed updates' error feedback holds"
                            + " (2^31 − 9); use --delta-precision fp32");
        }
        return (int) layout.size();
    }

    private static void readReliableCopy(LiveWorker live, RoundSpec spec) throws IOException {
        if (live.deltaError != null) {
            java.util.Arrays.fill(live.deltaError, 0f);
        }
        if (spec.baseCheckpoint() == null) {
            live.optimizer.loadStateDict(Map.of()); // a fresh start: no state yet
            return;
        }
        var hadoop = spec.run().hadoop().value();
        Path file = new Path(spec.baseCheckpoint(), TrainCheckpoints.workerFile(live.worker));
        try (InputStream in = file.getFileSystem(hadoop).open(file)) {
            OptimizerCheckpoint.read(in, live.optimizer, live.manager);
        }
        if (live.deltaError != null) {
            Path errors =
                    new Path(spec.baseCheckpoint(), TrainCheckpoints.deltaErrorFile(live.worker));
            try (InputStream in = errors.getFileSystem(hadoop).open(errors)) {
                DeltaErrors.read(in, spec.shards().layout(), live.deltaError, live.manager);
            }
        }
    }

    /** The GPU Spark assigned this task, else the CPU. */
    static Device device(TaskContext task) {
        String address = null;
        if (task != null) {
            ResourceInformation gpu = task.resourcesJMap().get("gpu");
            if (gpu != null && gpu.addresses().length > 0) {
                address = gpu.addresses()[0];
            }
        }
        return Devices.forTask(address);
    }

    /**
     * Removes every live worker of runs other than {@code runId} from the cache (holding {@code
     * LIVE}'s monitor) and returns them, to be closed once idle outside it.
     */
    private static List<LiveWorker> dropOtherRuns(String runId) {
        List<LiveWorker> out = new ArrayList<>();
        LIVE.values()
                .removeIf(
                        l -> {
                            if (!l.runId.equals(runId)) {
                                out.add(l);
                                return true;
                            }
                            return false;
                        });
        return out;
    }

    /**
     * Frees this JVM's live states of run {@code runId} that are not homed here any more: those of
     * workers {@code homes} places on another executor (a moved worker's old state) and that are
     * older than round {@code before} (a state trained in the round under way is never stale), or
     * every one when {@code homes} is null. Each is closed once no task uses it. Returns how many.
     */
    static int release(String runId, Map<Integer, String> homes, String executor, long before) {
        List<LiveWorker> out = new ArrayList<>();
        synchronized (LIVE) {
            LIVE.values()
                    .removeIf(
                            l -> {
                                boolean gone =
                                        l.runId.equals(runId)
                                                && (homes == null
                                                        || (homes.containsKey(l.worker)
                                                                && !homes.get(l.worker)
                                                                        .equals(executor)
                                                                && l.round < before));
                                if (gone) {
                                    out.add(l);
                                }
                                return gone;
                            });
        }
        out.forEach(LiveWorker::closeWhenIdle);
        return out.size();
    }

    /** How many workers this JVM holds live. */
    static int count() {
        synchronized (LIVE) {
            return LIVE.size();
        }
    }
}
