package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.train.StepResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.SerializableConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Tuple2;

/**
 * The sharded combine against the driver-side arithmetic it replaced ({@link OuterOptimizer}, kept
 * here in the test sources as the reference): for every shard count, both outer optimizers, a
 * dropped (non-finite) worker and a round with no finite worker, the published shards hold exactly
 * the reference's bits, and the telemetry sums match the reference's norms.
 */
class ShardedCombineTest {
    @TempDir Path dir;

    static final ModelConfig MODEL =
            ModelConfig.preset("bert-tiny").withVocabSize(37).withMaxPositions(8);

    @Test
    void everyShardCountGivesTheDriverSideCombinesBits() throws Exception {
        Random random = new Random(7);
        Parameters theta = random(random, 1f);
        List<Parameters> deltas = List.of(random(random, 1e-2f), random(random, 1e-2f));
        Parameters poisoned = random(random, 1e-2f);
        poisoned.values(3)[5] = Float.NaN;
        long[] tokens = {1234, 987, 555};
        for (String kind : List.of("average", "nesterov")) {
            OuterOptimizer reference = new OuterOptimizer(kind, 0.7, 0.9);
            Parameters expected1 =
                    reference.step(
                            theta, OuterOptimizer.weightedSum(deltas, new long[] {1234, 987}));
            // A copy: the reference updates its momentum buffer in place.
            float[][] momentum1 =
                    reference.momentumBuffer() == null
                            ? null
                            : java.util.Arrays.stream(reference.momentumBuffer().values())
                                    .map(float[]::clone)
                                    .toArray(float[][]::new);
            List<Parameters> second = List.of(random(random, 1e-2f), random(random, 1e-2f));
            Parameters expected2 =
                    reference.step(
                            expected1, OuterOptimizer.weightedSum(second, new long[] {1234, 987}));
            for (int shards : new int[] {1, 2, 5, 64}) {
                Path out = dir.resolve(kind + "-" + shards);
                GlobalShards store = store(out, shards);
                publish(store, 0, theta);
                // Round 1: workers 0 and 1 finite, worker 2 not (it counts for nothing).
                combine(store, kind, 1, List.of(deltas.get(0), deltas.get(1), poisoned), tokens);
                assertEquals(expected1.values(), read(store, 1, GlobalShards.Kind.PARAMS));
                if (kind.equals("nesterov")) {
                    assertEquals(momentum1, read(store, 1, GlobalShards.Kind.MOMENTUM));
                } else {
                    assertFalse(store.has(1, GlobalShards.Kind.MOMENTUM));
                }
                // Round 2 continues from round 1's shards (and momentum).
                combine(store, kind, 2, List.of(second.get(0), second.get(1), poisoned), tokens);
                assertEquals(expected2.values(), read(store, 2, GlobalShards.Kind.PARAMS));
                // Round 3: nobody finite, so θ (and m) stay.
                combine(store, kind, 3, List.of(poisoned, poisoned, poisoned), tokens);
                assertEquals(expected2.values(), read(store, 3, GlobalShards.Kind.PARAMS));
            }
        }
    }

    @Test
    void theTelemetrySumsGiveTheUpdateNormAndTheWorkersAgreement() throws Exception {
        Random random = new Random(11);
        Parameters theta = random(random, 1f);
        List<Parameters> deltas =
                List.of(random(random, 1e-2f), random(random, 1e-2f), random(random, 1e-2f));
        long[] tokens = {10, 20, 30};
        GlobalShards store = store(dir.resolve("t"), 3);
        publish(store, 0, theta);
        List<ShardedCombine.Result> results = combine(store, "average", 1, deltas, tokens);
        assertEquals(3, results.get(0).reports().size());
        assertNull(results.get(1).reports());
        double update = 0;
        double direction = 0;
        for (ShardedCombine.Result r : results) {
            update += r.updateSquares();
            direction += r.directionSquares();
        }
        Parameters next = theta.withValues(read(store, 1, GlobalShards.Kind.PARAMS));
        assertEquals(next.minus(theta).norm(), Math.sqrt(update), 1e-9);
        double cosines = 0;
        for (int a = 0; a < 3; a++) {
            for (int b = a + 1; b < 3; b++) {
                cosines +=
                        dot(deltas.get(a), deltas.get(b))
                                / deltas.get(a).norm()
                                / deltas.get(b).norm();
            }
        }
        assertEquals(cosines / 3, (direction - 3) / 6, 1e-9);
    }

    private static double dot(Parameters a, Parameters b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            for (int j = 0; j < a.values(i).length; j++) {
                s += (double) a.values(i)[j] * b.values(i)[j];
            }
        }
        return s;
    }

    /** Runs every combine task of round {@code round} over the workers' records. */
    private List<ShardedCombine.Result> combine(
            GlobalShards store, String kind, long round, List<Parameters> deltas, long[] tokens)
            throws Exception {
        ShardLayout layout = store.layout();
        RunSpec run = runSpec(kind, store);
        RoundSpec spec = new RoundSpec(() -> run, round, 0, null, Map.of(), Map.of());
        List<Tuple2<ShardPiece.Key, ShardPiece>> records = new ArrayList<>();
        for (int w = 0; w < deltas.size(); w++) {
            float[] flat = flat(deltas.get(w));
            boolean finite = deltas.get(w).isFinite();
            WorkerReport report = report(w, round, finite, deltas.get(w).norm(), tokens[w]);
            for (int s = 0; s < layout.shards(); s++) {
                float[] piece = new float[layout.length(s)];
                System.arraycopy(flat, (int) layout.start(s), piece, 0, piece.length);
                ShardPiece p =
                        new ShardPiece(
                                s, 1, w, null, new DeltaCodec.Encoded(piece, null, null, null));
                records.add(new Tuple2<>(p.key(), p));
                ShardPiece r = new ShardPiece(s, 0, w, report, null);
                records.add(new Tuple2<>(r.key(), r));
            }
        }
        // As the shuffle delivers them: by shard, then reports before pieces, in worker order.
        records.sort(Comparator.comparing(Tuple2::_1, ShardPiece.ORDER));
        List<ShardedCombine.Result> out = new ArrayList<>();
        for (int s = 0; s < layout.shards(); s++) {
            int shard = s;
            out.add(
                    ShardedCombine.run(
                            s,
                            records.stream().filter(t -> t._1().shard() == shard).iterator(),
                            spec));
        }
        return out;
    }

    static WorkerReport report(int worker, long round, boolean finite, double norm, long tokens) {
        return new WorkerReport(
                worker,
                round,
                finite,
                norm,
                tokens,
                4,
                List.<StepResult.TermSum>of(),
                1e-3,
                0,
                0,
                0,
                "driver",
                "localhost",
                WorkerReport.Restore.live(),
                0,
                -1,
                0);
    }

    private static RunSpec runSpec(String kind, GlobalShards store) throws Exception {
        ObjectNode c = TrainConfigTest.recorded();
        c.put("outer_optimizer", kind);
        c.put("outer_lr", 0.7);
        c.put("outer_momentum", 0.9);
        return new RunSpec(
                "test", TrainConfig.fromJson(c), MODEL, null, null, null, 1, null, true, store);
    }

    private static GlobalShards store(Path out, int shards) {
        return new GlobalShards(
                new org.apache.hadoop.fs.Path(out.toUri()),
                ShardLayout.of(MODEL, shards),
                new SerializableConfiguration(new Configuration()));
    }

    /** Random parameters of {@link #MODEL}'s shapes, uniform in ±scale. */
    private static Parameters random(Random random, float scale) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            Map<String, NDArray> arrays = new java.util.LinkedHashMap<>();
            dev.lmspark.model.io.ModelWeights.shapes(MODEL)
                    .forEach(
                            (name, shape) -> {
                                float[] v = new float[(int) shape.size()];
                                for (int i = 0; i < v.length; i++) {
                                    v[i] = (random.nextFloat() * 2 - 1) * scale;
                                }
                                arrays.put(name, m.create(v, shape));
                            });
            return Parameters.of(arrays);
        }
    }

    private static void publish(GlobalShards store, long round, Parameters p) throws IOException {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            store.publish(round, GlobalShards.Kind.PARAMS, p.toArrays(m));
        }
        assertTrue(store.has(round, GlobalShards.Kind.PARAMS));
    }

    private static float[] flat(Parameters p) {
        int n = (int) p.count();
        float[] out = new float[n];
        int at = 0;
        for (float[] v : p.values()) {
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /** A round's parameters of {@code kind}, per tensor, read back from the shard files. */
    private static float[][] read(GlobalShards store, long round, GlobalShards.Kind kind)
            throws IOException {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            return Parameters.of(store.arrays(round, kind, m)).values();
        }
    }

    private static void assertEquals(float[][] expected, float[][] actual) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], "tensor " + i);
        }
    }

    private static void assertEquals(double expected, double actual, double delta) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual, delta);
    }

    private static void assertEquals(int expected, int actual) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual);
    }
}
