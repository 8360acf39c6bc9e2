package dev.lmspark.model.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import java.io.InputStream;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Losses and their gradients against PyTorch reference values ({@code
 * model/src/test/python/make_loss_fixtures.py}, the SMILE authors' reference code), within 1e-6
 * absolute + 1e-5 relative.
 */
class LossFixtureTest {
    static JsonNode fixture;
    static int b;
    static int t;
    static int v;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = LossFixtureTest.class.getResourceAsStream("/fixtures/losses.json")) {
            fixture = new ObjectMapper().readTree(in);
        }
        b = fixture.path("shape").get(0).asInt();
        t = fixture.path("shape").get(1).asInt();
        v = fixture.path("shape").get(2).asInt();
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    /** Runs {@code loss} on the fixture's logits and labels; checks value and gradient. */
    private static void check(String name, BiFunction<NDArray, NDArray, NDArray> loss) {
        JsonNode expected = fixture.path("cases").path(name);
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            NDArray logits = m.create(floats(fixture.path("logits")), new Shape(b, t, v));
            logits.setRequiresGradient(true);
            NDArray labels = m.create(longs(fixture.path("labels")), new Shape(b, t));
            NDArray value;
            try (GradientCollector gc = Engine.getEngine(Devices.ENGINE).newGradientCollector()) {
                value = loss.apply(logits, labels);
                gc.backward(value.sum());
            }
            assertClose(name + " loss", floats(expected.path("loss")), value.toFloatArray());
            assertClose(
                    name + " gradient",
                    floats(expected.path("grad")),
                    logits.getGradient().toFloatArray());
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + " size");
        for (int i = 0; i < expected.length; i++) {
            double tolerance = 1e-6 + 1e-5 * Math.abs(expected[i]);
            assertTrue(
                    Math.abs(expected[i] - actual[i]) <= tolerance,
                    what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
        }
    }

    @Test
    void crossEntropyAveragesOverCountedTokensOnly() {
        check("ce_mean", (x, y) -> new CrossEntropyLoss().compute(x, y));
        check("ce_sum", (x, y) -> new CrossEntropyLoss(-100, Reduction.SUM).compute(x, y));
        check("ce_none", (x, y) -> new CrossEntropyLoss(-100, Reduction.NONE).compute(x, y));
    }

    @Test
    void smileRestrictsTheSoftmaxToTheSequencesLabels() {
        check(
                "smile",
                (x, y) ->
                        new SmileLoss(SmileLoss.Variant.SUBSET, false, 10, 0, -100, Reduction.MEAN)
                                .compute(x, y, 0L));
        check("smile_first_token_mle", (x, y) -> SmileLoss.subset().compute(x, y, 0L));
    }

    @Test
    void randomSubsetUsesTheSampledIdsAndTheLabel() {
        int s = fixture.path("sample_num").asInt();
        long[] sampled = longs(fixture.path("random_ids"));
        check(
                "smile_random",
                (x, y) ->
                        new SmileLoss(SmileLoss.Variant.RANDOM, false, s, 0, -100, Reduction.MEAN)
                                .compute(x, y, sampled));
    }

    @Test
    void reverseSubsetUsesEveryOtherIdAndTheLabel() {
        check(
                "smile_reverse",
                (x, y) ->
                        new SmileLoss(SmileLoss.Variant.REVERSE, false, 10, 0, -100, Reduction.MEAN)
                                .compute(x, y, 0L));
    }

    @Test
    void randomDrawsAreKeyedBySeedAndStep() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            NDArray logits = m.create(floats(fixture.path("logits")), new Shape(b, t, v));
            NDArray labels = m.create(longs(fixture.path("labels")), new Shape(b, t));
            SmileLoss loss =
                    new SmileLoss(SmileLoss.Variant.RANDOM, false, 3, 7, -100, Reduction.MEAN);
            float step1 = loss.compute(logits, labels, 1L).getFloat();
            assertEquals(step1, loss.compute(logits, labels, 1L).getFloat());
            assertTrue(
                    step1 != loss.compute(logits, labels, 2L).getFloat(),
                    "another step, other draws");
            // Every subset holds the label, so each SMILE loss is at most the full cross-entropy.
            float full = new CrossEntropyLoss().compute(logits, labels).getFloat();
            assertTrue(step1 <= full + 1e-6);
            assertTrue(SmileLoss.subset().compute(logits, labels, 0L).getFloat() <= full + 1e-6);
        }
    }
}
