package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.jni.JniUtils;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.model.train.StepResult;
import dev.lmspark.model.train.TrainingStep;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;

/**
 * One worker's local training of one round, the same whether the round is live or replayed: the
 * worker's replica set to the round's global parameters (read from their shards), {@code
 * --local-steps} steps through {@link TrainingStep} with the worker's inner AdamW, on the worker's
 * rows of the round. Every step is a pure function of (the parameters, the optimizer state, seed,
 * worker, step), so a replay computes the same bits as the round it replays. The update is the
 * replica's parameters minus the ones the round started from, read again from their shard files.
 * Holds the round's rows until closed.
 */
final class LocalRound implements AutoCloseable {
    static final long DROPOUT_STREAM = 0x64726f700000001L;

    final NDManager manager;
    final PretrainingTask model;
    private final GlobalShards shards;
    private final long round;
    final Map<String, StepResult.TermSum> terms = new LinkedHashMap<>();
    long tokens;
    long examples;
    double lastLr;
    long bytesRead;
    double setupSeconds;
    double computeSeconds;

    private LocalRound(NDManager manager, PretrainingTask model, GlobalShards shards, long round) {
        this.manager = manager;
        this.model = model;
        this.shards = shards;
        this.round = round;
    }

    /**
     * Trains round {@code round} of {@code live}'s worker from the global parameters {@code round −
     * 1} published (the state's lock held); {@code probe} is called after each step (only for live
     * rounds: a replay is not the moment a test asked for).
     */
    static LocalRound train(
            LiveWorker live,
            RunSpec spec,
            GlobalShards shards,
            long round,
            TaskContext task,
            boolean probe) {
        long begin = System.nanoTime();
        JniUtils.setNumThreads(spec.threads());
        PretrainingTask model;
        try {
            model = live.replica(spec.model(), shards, round - 1);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "worker "
                            + live.worker
                            + " cannot read the global parameters of round "
                            + (round - 1),
                    e);
        }
        NDManager manager = live.manager.newSubManager();
        try {
            LocalRound r = new LocalRound(manager, model, shards, round);
            r.run(live, spec, round, task, probe, begin);
            return r;
        } catch (RuntimeException | Error e) {
            manager.close();
            throw e;
        }
    }

    private void run(
            LiveWorker live,
            RunSpec spec,
            long round,
            TaskContext task,
            boolean probe,
            long begin) {
        TrainConfig c = spec.config();
        long firstStep = (round - 1) * c.localSteps();
        long computeStart = System.nanoTime();
        setupSeconds = (computeStart - begin) / 1e9;
        long readBefore = live.reader.bytesRead();
        ShardBatch rows;
        try {
            rows =
                    RoundRows.read(
                            live.reader,
                            spec.data().segments(live.worker, round),
                            spec.dataset(),
                            c.dynamicMasking(),
                            c.seed());
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "worker " + live.worker + " cannot read its rows of round " + round, e);
        }
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
                                Seeds.random(c.seed(), DROPOUT_STREAM, live.worker, globalStep));
                r.terms().forEach(t -> terms.merge(t.name(), t, StepResult.TermSum::plus));
                tokens += r.tokens();
                examples += r.examples();
                lastLr = r.lr();
                if (probe) {
                    TrainProbe.fire(TrainProbe.Point.AFTER_STEP, round, live.worker, h + 1, model);
                }
                if (task != null) {
                    // A cancelled round (a stop signal, a failed sibling) ends here, not after
                    // its last step: the live state stays dirty and is restored.
                    task.killTaskIfInterrupted();
                }
            }
        }
        computeSeconds = (System.nanoTime() - computeStart) / 1e9;
        bytesRead = live.reader.bytesRead() - readBefore;
    }

    /** Whether every loss term of the round is finite. */
    boolean lossFinite() {
        return terms.values().stream().allMatch(t -> Double.isFinite(t.sum()));
    }

    /**
     * Δ over shard {@code shard}: the replica's parameters minus the ones the round started from
     * (round − 1's shard file), in float32 — Java's subtraction, exactly as the driver-side combine
     * of earlier versions had it.
     */
    float[] delta(int shard) throws IOException {
        ShardLayout layout = shards.layout();
        float[] out = shards.read(round - 1, GlobalShards.Kind.PARAMS, shard);
        float[] chunk = new float[1 << 16];
        layout.forEachOverlap(
                layout.start(shard),
                layout.end(shard),
                (i, a, b, at) -> {
                    NDArray p = model.parameters().get(layout.name(i));
                    if (HostViews.viewable(p)) {
                        FloatBuffer end = HostViews.floats(p);
                        for (long k = a; k < b; k += chunk.length) {
                            int n = (int) Math.min(chunk.length, b - k);
                            end.get((int) k, chunk, 0, n);
                            int o = at + (int) (k - a);
                            for (int j = 0; j < n; j++) {
                                out[o + j] = chunk[j] - out[o + j];
                            }
                        }
                    } else {
                        float[] end = values(p, a, b);
                        for (int j = 0; j < end.length; j++) {
                            out[at + j] = end[j] - out[at + j];
                        }
                    }
                });
        return out;
    }

    /** Values {@code [from, to)} of {@code a} flattened (through the host). */
    private static float[] values(NDArray a, long from, long to) {
        if (from == 0 && to == a.size()) {
            return a.toFloatArray();
        }
        try (NDArray flat = a.reshape(-1);
                NDArray part = flat.get(new NDIndex(from + ":" + to))) {
            return part.toFloatArray();
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
