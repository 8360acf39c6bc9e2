package dev.lmspark.train;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import scala.Tuple2;

/**
 * The combine of one shard of a round (BigDL's AllReduceParameter, with lmspark's fixed order):
 * combine task s receives every worker's report and, from each worker whose round was finite, its
 * piece Δ_w[s] of the update; sums the pieces in worker-id order, in float64, each weighted by the
 * worker's share of the round's tokens, rounding once to float32; applies the outer optimizer to
 * the shard (DiLoCo, Douillard et al. 2023):
 *
 * <ul>
 *   <li>{@code average}: θ ← θ + Δ (parameter averaging);
 *   <li>{@code nesterov}: with the outer gradient g = −Δ, m ← μ·m + g, θ ← θ − η·(g + μ·m) ({@code
 *       torch.optim.SGD(nesterov=True)}), η = {@code --outer-lr}, μ = {@code --outer-momentum}, m
 *       (sharded with θ) starting at 0;
 * </ul>
 *
 * and publishes the shard's new θ (and m) as round r's ({@link GlobalShards}). Plain Java scalar
 * arithmetic in a fixed order, no engine and no fused multiply-add: the result is a pure function
 * of (θ_{r−1}, m_{r−1}, the pieces, the weights), the same bits whatever S, wherever the task runs
 * and however often it is retried — and the bits the driver-side combine of earlier versions gave.
 * When no worker's round was finite, θ and m stay as they were.
 */
final class ShardedCombine {
    private ShardedCombine() {}

    /**
     * What a combine task sends the driver: a few numbers, whatever the model's size.
     *
     * @param shard the shard
     * @param reports every worker's report, in worker-id order (shard 0 only; null for the others)
     * @param updateSquares Σ (θ_r − θ_{r−1})² over the shard, in float64 (for {@code update_norm})
     * @param directionSquares ‖Σ_w Δ_w[s] / ‖Δ_w‖‖² over the shard, in float64: summed over shards,
     *     ‖U‖² with U the sum of the unit updates, from which the mean pairwise cosine follows
     * @param seconds the task's time, from its first record to the published shard
     */
    record Result(
            int shard,
            List<WorkerReport> reports,
            double updateSquares,
            double directionSquares,
            double seconds)
            implements Serializable {}

    /** Combine task {@code shard} of round {@code spec.round()} over its sorted records. */
    static Result run(
            int shard, Iterator<Tuple2<ShardPiece.Key, ShardPiece>> records, RoundSpec spec) {
        long begin = System.nanoTime();
        GlobalShards shards = spec.shards();
        int n = shards.layout().length(shard);
        Map<Integer, WorkerReport> reports = new TreeMap<>();
        double[] sum = null;
        double[] direction = null;
        double[] weights = null;
        while (records.hasNext()) {
            ShardPiece p = records.next()._2();
            if (p.phase() == 0) {
                reports.put(p.worker(), p.report());
                continue;
            }
            WorkerReport r = reports.get(p.worker());
            if (r == null || !r.finite()) {
                continue; // a round that was not finite does not count
            }
            if (sum == null) {
                weights = weights(reports);
                sum = new double[n];
                direction = finiteCount(reports) > 1 ? new double[n] : null;
            }
            double w = weights[p.worker()];
            float[] d = p.delta().decode();
            if (direction != null && r.deltaNorm() > 0) {
                double unit = 1 / r.deltaNorm();
                for (int j = 0; j < n; j++) { // one pass over the piece for both sums
                    sum[j] += w * d[j];
                    direction[j] += d[j] * unit;
                }
            } else {
                for (int j = 0; j < n; j++) {
                    sum[j] += w * d[j];
                }
            }
        }
        // The reports say where each worker trained this round: states elsewhere are stale.
        Map<Integer, String> trainedOn = new TreeMap<>();
        reports.values().forEach(r -> trainedOn.put(r.worker(), r.executor()));
        LiveWorkers.release(spec.run().runId(), trainedOn, Worker.executorId(), Long.MAX_VALUE);
        TrainProbe.fire(TrainProbe.Point.COMBINE, spec.round(), -1, shard, null);
        double updateSquares;
        try {
            updateSquares = step(shard, sum, spec);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "the combine of shard " + shard + " of round " + spec.round() + " failed", e);
        }
        double directionSquares = 0;
        if (direction != null) {
            for (double x : direction) {
                directionSquares += x * x;
            }
        }
        return new Result(
                shard,
                shard == 0 ? new ArrayList<>(reports.values()) : null,
                updateSquares,
                directionSquares,
                (System.nanoTime() - begin) / 1e9);
    }

    /**
     * Each finite worker's weight by worker id: its tokens over all finite workers' tokens (equal
     * weights when those are 0); 0 for the others.
     */
    static double[] weights(Map<Integer, WorkerReport> reports) {
        long total = 0;
        int count = 0;
        int size = 0;
        for (WorkerReport r : reports.values()) {
            size = Math.max(size, r.worker() + 1);
            if (r.finite()) {
                total += r.tokens();
                count++;
            }
        }
        double[] out = new double[size];
        for (WorkerReport r : reports.values()) {
            if (r.finite()) {
                out[r.worker()] = total == 0 ? 1.0 / count : (double) r.tokens() / total;
            }
        }
        return out;
    }

    private static int finiteCount(Map<Integer, WorkerReport> reports) {
        return (int) reports.values().stream().filter(WorkerReport::finite).count();
    }

    /**
     * Applies the outer optimizer to shard {@code shard} with the combined update {@code sum}
     * (null: no finite worker, θ and m stay) and publishes it; returns Σ (θ_r − θ_{r−1})².
     */
    private static double step(int shard, double[] sum, RoundSpec spec) throws IOException {
        GlobalShards shards = spec.shards();
        long round = spec.round();
        float[] theta = shards.read(round - 1, GlobalShards.Kind.PARAMS, shard);
        boolean nesterov = spec.run().config().outerOptimizer().equals("nesterov");
        boolean hadMomentum = nesterov && shards.has(round - 1, GlobalShards.Kind.MOMENTUM);
        float[] m = hadMomentum ? shards.read(round - 1, GlobalShards.Kind.MOMENTUM, shard) : null;
        float[] next = theta;
        if (sum != null) {
            next = new float[theta.length];
            if (nesterov) {
                if (m == null) {
                    m = new float[theta.length];
                }
                nesterov(
                        theta,
                        sum,
                        m,
                        (float) spec.run().config().outerLr(),
                        (float) spec.run().config().outerMomentum(),
                        next);
            } else {
                average(theta, sum, next);
            }
        }
        shards.write(round, GlobalShards.Kind.PARAMS, shard, next);
        if (m != null) {
            shards.write(round, GlobalShards.Kind.MOMENTUM, shard, m);
        }
        double squares = 0;
        if (next != theta) {
            for (int j = 0; j < next.length; j++) {
                float u = next[j] - theta[j];
                squares += (double) u * u;
            }
        }
        return squares;
    }

    /** θ + Δ into {@code out}, elementwise in float32, with Δ the float64 sum rounded once. */
    static void average(float[] theta, double[] sum, float[] out) {
        for (int j = 0; j < out.length; j++) {
            out[j] = theta[j] + (float) sum[j];
        }
    }

    /**
     * Outer Nesterov momentum in float32 into {@code out}: Δ the float64 sum rounded once, g = −Δ,
     * m ← μ·m + g (in place), θ − η·(g + μ·m).
     */
    static void nesterov(
            float[] theta, double[] sum, float[] m, float lr, float momentum, float[] out) {
        for (int j = 0; j < out.length; j++) {
            float g = -(float) sum[j];
            m[j] = momentum * m[j] + g;
            out[j] = theta[j] - lr * (g + momentum * m[j]);
        }
    }
}
