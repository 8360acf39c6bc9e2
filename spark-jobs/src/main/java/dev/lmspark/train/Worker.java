package dev.lmspark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.model.train.StepResult;
import dev.lmspark.model.train.TrainingStep;
import dev.lmspark.spark.data.ExampleReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The executor side of a run (Deeplearning4j's ParameterAveragingTrainingWorker, in lmspark's
 * terms): one round of one worker. The worker's inner AdamW state lives in this JVM between rounds
 * (a live cache, keyed by run and worker id), and its serialized form is the round's output in
 * Spark's block manager. A task uses the live state only when it is exactly the end of the previous
 * round; otherwise — a retried attempt whose first try advanced the live state, a task Spark placed
 * on another executor, a resumed run — it restores the state from the previous round's serialized
 * form (fetched from whichever executor holds it). Either way the round starts from the same bits,
 * so where a task runs never changes the result.
 *
 * <p>Every round builds a fresh model replica from the broadcast global parameters on the task's
 * device (the GPU Spark assigned it, else the CPU), trains {@code --local-steps} steps through
 * {@link TrainingStep} (which takes turns with other workers of this JVM step by step), and returns
 * the parameter delta. The replica is freed after the round; the AdamW state is freed when its
 * worker is dropped from the cache (another run starts, or {@link #release}).
 */
final class Worker {
    static final long DROPOUT_STREAM = 0x64726f700000001L;

    /** A worker's live state in this JVM. */
    private static final class Live {
        final String runId;
        final NDManager manager;
        final AdamW optimizer;
        final ExampleReader reader;

        /** Held by the task training with this state; closing waits for it. */
        final ReentrantLock lock = new ReentrantLock();

        long round;
        boolean dirty;
        boolean closed;

        Live(String runId, NDManager manager, AdamW optimizer, ExampleReader reader, long round) {
            this.runId = runId;
            this.manager = manager;
            this.optimizer = optimizer;
            this.reader = reader;
            this.round = round;
        }

        /**
         * Frees the state's native memory once no task trains with it: a cancelled task (a stop
         * signal, a failed sibling) may still be finishing its current step. Never call it while
         * holding {@code LIVE}'s monitor, which that task needs to finish.
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
                optimizer.close();
                manager.close();
            } finally {
                lock.unlock();
            }
        }
    }

    private static final Map<Integer, Live> LIVE = new HashMap<>();

    private Worker() {}

    /** Trains round {@code round} of the worker whose state is {@code parent}. */
    static WorkerRound run(WorkerState parent, Parameters global, RunSpec spec, long round) {
        TaskContext task = TaskContext.get();
        while (true) {
            Live live;
            boolean restored;
            List<Live> stale = new ArrayList<>();
            synchronized (LIVE) {
                live = LIVE.get(parent.worker());
                restored =
                        live == null
                                || !live.runId.equals(spec.runId())
                                || live.round != parent.round()
                                || live.dirty;
                if (restored) {
                    stale.addAll(dropOtherRuns(spec.runId()));
                    Live old = LIVE.remove(parent.worker());
                    if (old != null) {
                        stale.add(old);
                    }
                    live = restore(parent, spec, device(task));
                    LIVE.put(parent.worker(), live);
                }
                live.dirty = true;
            }
            stale.forEach(Live::closeWhenIdle);
            live.lock.lock();
            try {
                if (live.closed) {
                    continue; // released while this task waited: look again
                }
                return train(live, restored, parent, global, spec, round, task);
            } finally {
                live.lock.unlock();
            }
        }
    }

    /** The round itself, holding {@code live}'s lock. */
    private static WorkerRound train(
            Live live,
            boolean restored,
            WorkerState parent,
            Parameters global,
            RunSpec spec,
            long round,
            TaskContext task) {
        TrainConfig c = spec.config();
        JniUtils.setNumThreads(spec.threads());
        long start = System.nanoTime();
        long firstStep = (round - 1) * c.localSteps();
        List<StepResult.TermSum> terms = new ArrayList<>();
        Map<String, StepResult.TermSum> sums = new LinkedHashMap<>();
        long tokens = 0;
        long examples = 0;
        double lastLr = 0;
        Parameters delta;
        long readBefore = live.reader.bytesRead();
        try (NDManager manager = live.manager.newSubManager()) {
            ShardBatch rows =
                    RoundRows.read(
                            live.reader,
                            spec.data().segments(parent.worker(), round),
                            spec.dataset(),
                            c.dynamicMasking(),
                            c.seed());
            Map<String, NDArray> params = global.toArrays(manager);
            PretrainingTask model = new ModelWeights(spec.model(), params).task();
            try (TrainingStep step =
                    TrainingStep.builder()
                            .setModel(model)
                            .setSchedule(spec.schedule())
                            .optLoss(c.trainingLoss())
                            .optClipNorm((float) c.clipNorm())
                            .optPrecision(c.computePrecision())
                            .optOptimizer(live.optimizer)
                            .build(manager)) {
                int b = c.batchSize();
                int a = c.gradAccum();
                for (int h = 0; h < c.localSteps(); h++) {
                    List<ShardBatch> micro = new ArrayList<>(a);
                    for (int k = 0; k < a; k++) {
                        int from = (h * a + k) * b;
                        micro.add(rows.slice(from, from + b));
                    }
                    long globalStep = firstStep + h;
                    StepResult r =
                            step.step(
                                    micro,
                                    globalStep,
                                    Seeds.random(
                                            c.seed(), DROPOUT_STREAM, parent.worker(), globalStep));
                    r.terms().forEach(t -> sums.merge(t.name(), t, StepResult.TermSum::plus));
                    tokens += r.tokens();
                    examples += r.examples();
                    lastLr = r.lr();
                    faultForTests(
                            spec.failOnce(),
                            spec.runId(),
                            task,
                            parent.worker(),
                            round,
                            h + 1,
                            model);
                    if (task != null) {
                        // A cancelled round (a stop signal, a failed sibling) ends here, not
                        // after its last step: the live state stays dirty and is restored.
                        task.killTaskIfInterrupted();
                    }
                }
            }
            delta = Parameters.of(model.parameters()).minus(global);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "worker " + parent.worker() + " cannot read its rows of round " + round, e);
        }
        terms.addAll(sums.values());
        boolean finite = delta.isFinite() && terms.stream().allMatch(t -> Double.isFinite(t.sum()));
        byte[] state;
        if (finite) {
            state = serialize(live.optimizer);
            synchronized (LIVE) {
                live.round = round;
                live.dirty = false;
            }
        } else {
            // A non-finite round is skipped: the driver drops the update, and the worker goes on
            // from its state at the start of the round (the live state, now poisoned, stays dirty
            // and is restored from these bytes next round).
            state = parent.optimizer();
            delta = null;
        }
        WorkerResult result =
                new WorkerResult(
                        parent.worker(),
                        round,
                        delta,
                        tokens,
                        examples,
                        terms,
                        lastLr,
                        (System.nanoTime() - start) / 1e9,
                        executorId(),
                        restored,
                        live.reader.bytesRead() - readBefore,
                        residentBytes());
        if (!finite) {
            return new WorkerRound(new WorkerState(parent.worker(), round, state), result);
        }
        return new WorkerRound(new WorkerState(parent.worker(), round, state), result);
    }

    /** A live worker from its serialized state. */
    private static Live restore(WorkerState parent, RunSpec spec, Device device) {
        NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE);
        TrainConfig c = spec.config();
        AdamW optimizer = AdamW.withDefaults(manager, (float) c.weightDecay());
        try {
            if (parent.optimizer().length > 0) {
                OptimizerCheckpoint.read(
                        new ByteArrayInputStream(parent.optimizer()), optimizer, manager);
            }
            ExampleReader reader =
                    new ExampleReader(spec.dataset(), "train", spec.hadoop().value(), 2);
            return new Live(spec.runId(), manager, optimizer, reader, parent.round());
        } catch (IOException | RuntimeException e) {
            optimizer.close();
            manager.close();
            if (e instanceof IOException io) {
                throw new UncheckedIOException(
                        "cannot restore worker " + parent.worker() + "'s optimizer state", io);
            }
            throw (RuntimeException) e;
        }
    }

    static byte[] serialize(AdamW optimizer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            OptimizerCheckpoint.write(optimizer, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
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

    private static String executorId() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "driver" : env.executorId();
    }

    /**
     * Removes every live worker of runs other than {@code runId} from the cache (holding {@code
     * LIVE}'s monitor) and returns them, to be closed once idle outside it.
     */
    private static List<Live> dropOtherRuns(String runId) {
        List<Live> out = new ArrayList<>();
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

    /** How many workers this JVM holds live (their optimizer state in native memory). */
    static int liveWorkers() {
        synchronized (LIVE) {
            return LIVE.size();
        }
    }

    /**
     * Frees the live workers of {@code runId} in this JVM, each once no task trains with it (a
     * cancelled task finishes its current step first); returns how many.
     */
    static int release(String runId) {
        List<Live> out = new ArrayList<>();
        synchronized (LIVE) {
            LIVE.values()
                    .removeIf(
                            l -> {
                                if (l.runId.equals(runId)) {
                                    out.add(l);
                                    return true;
                                }
                                return false;
                            });
        }
        out.forEach(Live::closeWhenIdle);
        return out.size();
    }

    /**
     * The test hook of {@link RunSpec#failOnce}: {@code worker=W,round=R,afterSteps=K} (or {@code
     * rounds=A-B}), with {@code action=throw} (default: the task's first attempt fails), {@code
     * halt} (the executor JVM of the run's first such task dies at once, as if killed; never the
     * driver's), {@code stall} (the first attempt waits up to ten minutes unless cancelled: a long
     * round) or {@code nan} (every attempt: the model's parameters become NaN, so the loss, the
     * gradients and the AdamW state do too).
     */
    private static void faultForTests(
            String spec,
            String runId,
            TaskContext task,
            int worker,
            long round,
            int stepsDone,
            PretrainingTask model) {
        if (spec == null || task == null) {
            return;
        }
        Map<String, String> v = new HashMap<>();
        for (String part : spec.split(",")) {
            String[] kv = part.split("=", 2);
            v.put(kv[0].trim(), kv[1].trim());
        }
        long from = Long.parseLong(v.getOrDefault("round", "-1"));
        long to = from;
        if (v.containsKey("rounds")) {
            String[] ab = v.get("rounds").split("-", 2);
            from = Long.parseLong(ab[0]);
            to = Long.parseLong(ab[1]);
        }
        if (Long.parseLong(v.getOrDefault("worker", "-1")) != worker
                || round < from
                || round > to
                || Long.parseLong(v.getOrDefault("afterSteps", "1")) != stepsDone) {
            return;
        }
        String action = v.getOrDefault("action", "throw");
        if (action.equals("stall") && task.attemptNumber() == 0) {
            // Up to ten minutes, unless the task is cancelled.
            for (int i = 0; i < 6000; i++) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                task.killTaskIfInterrupted();
            }
            return;
        }
        if (action.equals("nan")) {
            for (NDArray p : model.parameters().values()) {
                // Through a detached view: the same storage, outside autograd.
                try (NDArray data = p.stopGradient()) {
                    data.muli(Float.NaN);
                }
            }
            return;
        }
        if (task.attemptNumber() != 0) {
            return;
        }
        if (action.equals("halt")) {
            // Once per run: the rerun of the round (new tasks, attempt 0 again) and the replay of
            // the lost worker must not die too. Executors share this machine's temp folder.
            java.io.File once =
                    new java.io.File(
                            System.getProperty("java.io.tmpdir"),
                            "lmspark-test-halted-" + runId + "-" + worker + "-" + round);
            try {
                if (!"driver".equals(executorId()) && once.createNewFile()) {
                    Runtime.getRuntime().halt(137);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        throw new IllegalStateException(
                "injected failure of worker "
                        + worker
                        + " in round "
                        + round
                        + " after "
                        + stepsDone
                        + " local steps (test)");
    }
}
