package dev.lmspark.model.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.generate.TokenScorer;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OutputFolder;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Transformer;
import java.io.InputStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rotary masked LM against an independent PyTorch implementation ({@code
 * model/src/test/python/make_rotary_mlm_fixtures.py}): a right-padded and a left-padded row with
 * explicit position ids.
 */
class MaskedLmTest {
    static JsonNode f;
    static int b;
    static int t;
    static int v;
    static NDManager m;
    static MaskedLm model;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = MaskedLmTest.class.getResourceAsStream("/fixtures/rotary_mlm.json")) {
            f = new ObjectMapper().readTree(in);
        }
        JsonNode d = f.path("dims");
        b = d.path("B").asInt();
        t = d.path("T").asInt();
        v = d.path("V").asInt();
        m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
        Map<String, NDArray> params = new LinkedHashMap<>();
        f.path("weights")
                .properties()
                .forEach(
                        e ->
                                params.put(
                                        e.getKey(),
                                        m.create(
                                                floats(e.getValue().path("values")),
                                                new Shape(longs(e.getValue().path("shape"))))));
        model = new ModelWeights(config(), params).toMaskedLm();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    /** The fixture's shape with the rotary-mlm preset's flavour (untied head). */
    static ModelConfig config() {
        JsonNode d = f.path("dims");
        ModelConfig preset = ModelConfig.preset("rotary-mlm-small");
        return new ModelConfig(
                preset.architecture(),
                d.path("V").asInt(),
                d.path("H").asInt(),
                d.path("L").asInt(),
                d.path("A").asInt(),
                d.path("I").asInt(),
                16,
                preset.positions(),
                preset.typeVocabSize(),
                preset.causal(),
                preset.preNorm(),
                preset.norm(),
                preset.normEps(),
                preset.mlp(),
                preset.bias(),
                preset.dropout(),
                preset.ropeTheta(),
                preset.tieWordEmbeddings(),
                preset.initializerRange());
    }

    static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    static NDArray input(NDManager s, String name) {
        return s.create(longs(f.path(name)), new Shape(b, t));
    }

    static double maxDifference(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        return worst;
    }

    @Test
    void logitsAndLossMatchTheReference() {
        try (NDManager s = m.newSubManager()) {
            NDArray ids = input(s, "ids");
            NDArray mask = input(s, "attention_mask");
            NDArray positions = input(s, "position_ids");
            NDArray logits = model.forward(ids, mask, positions);
            assertEquals(new Shape(b, t, v), logits.getShape());
            double worst = maxDifference(floats(f.path("logits")), logits.toFloatArray());
            System.out.println("rotary MLM logits: largest difference " + worst);
            assertTrue(worst <= 1e-4, "logits: largest difference " + worst);
            // The left-padded row needs its position ids: counting from 0 at the padding differs.
            double shifted =
                    maxDifference(
                            floats(f.path("logits")),
                            model.forward(ids, mask, null).toFloatArray());
            assertTrue(shifted > 1e-2, "positions matter: " + shifted);

            NDArray labels = input(s, "labels");
            float mean =
                    model.mlmLoss(ids, mask, positions, labels, -100, Reduction.MEAN).getFloat();
            float sum = model.mlmLoss(ids, mask, positions, labels, -100, Reduction.SUM).getFloat();
            System.out.println(
                    "rotary MLM loss: differences "
                            + Math.abs(mean - f.path("mlm_loss_mean").asDouble())
                            + " (mean), "
                            + Math.abs(sum - f.path("mlm_loss_sum").asDouble())
                            + " (sum)");
            assertEquals(f.path("mlm_loss_mean").asDouble(), mean, 1e-5);
            assertEquals(f.path("mlm_loss_sum").asDouble(), sum, 1e-4);
            // Per token: the full projection, zero where nothing is predicted; sums to the same.
            NDArray perToken = model.mlmLoss(ids, mask, positions, labels, -100, Reduction.NONE);
            assertEquals(new Shape(b, t), perToken.getShape());
            assertEquals(sum, perToken.sum().getFloat(), 1e-4);
            assertEquals(0f, perToken.get("0, 0").getFloat());
        }
    }

    @Test
    void realTokensIgnoreHowMuchPaddingFollows() {
        try (NDManager s = m.newSubManager()) {
            int extra = 4;
            int wide = t + extra;
            long[][] cols = {
                longs(f.path("ids")), longs(f.path("attention_mask")), longs(f.path("position_ids"))
            };
            long[][] padded = new long[3][b * wide];
            for (int k = 0; k < 3; k++) {
                for (int r = 0; r < b; r++) {
                    System.arraycopy(cols[k], r * t, padded[k], r * wide, t);
                }
            }
            float[] base =
                    model.forward(
                                    input(s, "ids"),
                                    input(s, "attention_mask"),
                                    input(s, "position_ids"))
                            .toFloatArray();
            float[] more =
                    model.forward(
                                    s.create(padded[0], new Shape(b, wide)),
                                    s.create(padded[1], new Shape(b, wide)),
                                    s.create(padded[2], new Shape(b, wide)))
                            .toFloatArray();
            for (int r = 0; r < b; r++) {
                for (int k = 0; k < t; k++) {
                    if (cols[1][r * t + k] == 0) {
                        continue;
                    }
                    for (int j = 0; j < v; j++) {
                        float x = base[(r * t + k) * v + j];
                        float y = more[(r * wide + k) * v + j];
                        assertTrue(Math.abs(x - y) <= 1e-5, "row " + r + " token " + k);
                    }
                }
            }
        }
    }

    @Test
    void predictAndTheScorerAgreeWithTheLogits() {
        try (NDManager s = m.newSubManager()) {
            NDArray ids = input(s, "ids");
            NDArray mask = input(s, "attention_mask");
            NDArray positions = input(s, "position_ids");
            float[] expected = floats(f.path("logits"));
            long[] predicted = model.predict(ids, mask, positions).toLongArray();
            for (int i = 0; i < b * t; i++) {
                int best = 0;
                for (int j = 1; j < v; j++) {
                    best = expected[i * v + j] > expected[i * v + best] ? j : best;
                }
                assertEquals(best, predicted[i], "position " + i);
            }
            float[] scored = TokenScorer.of(model).scores(ids, mask, positions).toFloatArray();
            assertTrue(maxDifference(expected, scored) <= 1e-4);
        }
    }

    @Test
    void checkpointsRoundTripAsAMaskedLm() throws Exception {
        Map<String, byte[]> files = new HashMap<>();
        ModelCheckpoint.write(ModelWeights.of(model), OutputFolder.of(files::put));
        try (NDManager s = m.newSubManager()) {
            ModelWeights back = ModelCheckpoint.read(InputFolder.of(files), s);
            assertEquals(model.trunk().config(), back.config());
            MaskedLm restored = back.toMaskedLm();
            NDArray ids = input(s, "ids");
            NDArray mask = input(s, "attention_mask");
            NDArray positions = input(s, "position_ids");
            assertArrayEquals(
                    model.forward(ids, mask, positions).toFloatArray(),
                    restored.forward(ids, mask, positions).toFloatArray());
            IllegalStateException bert =
                    assertThrows(IllegalStateException.class, back::toBertForPretraining);
            assertTrue(bert.getMessage().contains("toMaskedLm()"), bert.getMessage());
        }
    }

    @Test
    void presetsHaveTheXlmStructure() {
        try (NDManager s = m.newSubManager()) {
            ModelConfig c = ModelConfig.preset("rotary-mlm-small").withVocabSize(64);
            MaskedLm fresh = MaskedLm.initialize(c, s, 1);
            Map<String, Shape> shapes = ModelWeights.shapes(c);
            assertEquals(shapes.keySet(), fresh.parameters().keySet());
            assertEquals(new Shape(64, 512), shapes.get("lm_head.weight"));
            assertTrue(shapes.containsKey("final_norm.weight"));
            assertTrue(
                    shapes.keySet().stream()
                            .noneMatch(
                                    n ->
                                            n.startsWith("mlm_head")
                                                    || n.startsWith("nsp")
                                                    || n.startsWith("embeddings.position")));
            // Tied: the word embeddings are the unembedding and there is no head parameter.
            ModelConfig tied =
                    new ModelConfig(
                            c.architecture(),
                            64,
                            32,
                            1,
                            2,
                            64,
                            16,
                            "rotary",
                            0,
                            false,
                            true,
                            "layernorm",
                            1e-5,
                            "gelu",
                            true,
                            0.0,
                            10000,
                            true,
                            0.02);
            MaskedLm tiedModel = MaskedLm.initialize(tied, s, 1);
            assertEquals(
                    Transformer.parameterShapes(tied).keySet(), ModelWeights.shapes(tied).keySet());
            assertTrue(
                    tiedModel.getOutputEmbeddings()
                            == tiedModel.trunk().parameters().get("embeddings.word"));
            IllegalArgumentException causal =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    new MaskedLm(
                                            Transformer.initialize(tied.withCausal(true), s, 1),
                                            Map.of()));
            assertTrue(causal.getMessage().contains("causal=false"));
        }
    }
}
