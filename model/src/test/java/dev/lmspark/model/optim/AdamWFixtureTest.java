package dev.lmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * AdamW, clipping and the warm-up + cosine schedule against a {@code torch.optim.AdamW} trajectory
 * ({@code model/src/test/python/make_optimizer_fixtures.py}), within 1e-6 absolute + 1e-5 relative.
 */
class AdamWFixtureTest {

    private static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(
                    Math.abs(expected[i] - actual[i]) <= 1e-6 + 1e-5 * Math.abs(expected[i]),
                    what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
        }
    }

    @Test
    void matchesTorchStepByStepAndResumesFromItsState() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/adamw.json")) {
            f = new ObjectMapper().readTree(in);
        }
        LearningRateSchedule schedule =
                new LearningRateSchedule(
                        LearningRateSchedule.Kind.COSINE,
                        f.path("base_lr").asDouble(),
                        f.path("warmup").asLong(),
                        f.path("total").asLong());
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            NDArray weight = m.create(floats(f.path("init").path("weight")), new Shape(3, 4));
            NDArray bias = m.create(floats(f.path("init").path("bias")), new Shape(4));
            AdamW adam = AdamW.withDefaults(m, (float) f.path("weight_decay").asDouble());
            int step = 0;
            for (JsonNode s : f.path("steps")) {
                if (step == 3) {
                    // Resume half-way on a fresh optimizer from the saved state: same trajectory.
                    Map<String, NDArray> state = adam.stateDict();
                    AdamW resumed =
                            AdamW.withDefaults(m, (float) f.path("weight_decay").asDouble());
                    resumed.loadStateDict(state);
                    adam.close();
                    adam = resumed;
                }
                NDArray gw = m.create(floats(s.path("grad_weight")), new Shape(3, 4));
                NDArray gb = m.create(floats(s.path("grad_bias")), new Shape(4));
                float norm =
                        GradientClipping.clipGlobalNorm(
                                List.of(gw, gb), (float) f.path("clip").asDouble());
                assertEquals(s.path("norm").asDouble(), norm, 1e-5 * s.path("norm").asDouble());
                double lr = schedule.at(step);
                assertEquals(s.path("lr").asDouble(), lr, 1e-12);
                adam.update("encoder.dense.weight", weight, gw, (float) lr);
                adam.update("encoder.dense.bias", bias, gb, (float) lr);
                assertClose(
                        "weight after step " + step,
                        floats(s.path("weight")),
                        weight.toFloatArray());
                assertClose("bias after step " + step, floats(s.path("bias")), bias.toFloatArray());
                step++;
            }
            adam.close();
        }
    }

    @Test
    void savingTheStateRepeatedlyAllocatesNothingNew() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            NDArray weight = m.ones(new Shape(3, 4));
            NDArray grad = m.ones(new Shape(3, 4));
            try (AdamW adam = AdamW.withDefaults(m, 0.01f)) {
                adam.update("w", weight, grad, 1e-3f);
                assertEquals(1, adam.stateDict().get("w.step").getLong());
                // m counts its sub-managers' arrays: the optimizer's state included.
                int held = m.getManagedArrays().size();
                for (int i = 0; i < 5; i++) {
                    adam.stateDict();
                }
                assertEquals(held, m.getManagedArrays().size());
                adam.update("w", weight, grad, 1e-3f);
                assertEquals(2, adam.stateDict().get("w.step").getLong());
                assertEquals(held, m.getManagedArrays().size());
                // Loading (even its own state) replaces the old arrays, it does not add to them.
                adam.loadStateDict(adam.stateDict());
                adam.stateDict();
                assertEquals(held, m.getManagedArrays().size());
                assertEquals(2, adam.stateDict().get("w.step").getLong());
            }
        }
    }

    @Test
    void schedulesWarmUpThenDecay() {
        var linear = new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1.0, 10, 110);
        assertEquals(0.0, linear.at(0));
        assertEquals(0.5, linear.at(5), 1e-12);
        assertEquals(1.0, linear.at(10), 1e-12);
        assertEquals(0.5, linear.at(60), 1e-12);
        assertEquals(0.0, linear.at(110), 1e-12);
        assertEquals(
                1.0, new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 1.0, 0, 5).at(4));
        assertTrue(AdamW.decaysByDefault("layers.0.attention.query.weight"));
        assertTrue(!AdamW.decaysByDefault("layers.0.attention.query.bias"));
        assertTrue(!AdamW.decaysByDefault("layers.0.attention_norm.weight"));
    }
}
