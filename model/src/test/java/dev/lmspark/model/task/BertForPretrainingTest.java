package dev.lmspark.model.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Transformer;
import java.io.InputStream;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * BERT pretraining heads and losses against the PyTorch reference (Hugging Face {@code
 * BertForPreTraining}); the methods of Lucid's {@code BERTForPreTraining}.
 */
class BertForPretrainingTest {
    static JsonNode f;
    static JsonNode bert;
    static int b;
    static int t;
    static int v;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in =
                BertForPretrainingTest.class.getResourceAsStream("/fixtures/transformer.json")) {
            f = new ObjectMapper().readTree(in);
        }
        bert = f.path("cases").path("bert");
        b = f.path("dims").path("B").asInt();
        t = f.path("dims").path("T").asInt();
        v = f.path("dims").path("V").asInt();
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

    static BertForPretraining model(NDManager m) {
        JsonNode d = f.path("dims");
        ModelConfig c =
                new ModelConfig(
                        "bert",
                        v,
                        d.path("H").asInt(),
                        d.path("L").asInt(),
                        d.path("A").asInt(),
                        d.path("I").asInt(),
                        d.path("P").asInt(),
                        "learned",
                        2,
                        false,
                        false,
                        "layernorm",
                        1e-12,
                        "gelu",
                        true,
                        0.1,
                        10000,
                        true,
                        0.02);
        Map<String, NDArray> trunk = new LinkedHashMap<>();
        Map<String, NDArray> heads = new LinkedHashMap<>();
        bert.path("weights")
                .fields()
                .forEachRemaining(
                        e -> {
                            NDArray a =
                                    m.create(
                                            floats(e.getValue().path("values")),
                                            new Shape(longs(e.getValue().path("shape"))));
                            (BertForPretraining.headShapes(c).containsKey(e.getKey())
                                            ? heads
                                            : trunk)
                                    .put(e.getKey(), a);
                        });
        return new BertForPretraining(new Transformer(c, trunk), heads);
    }

    static BertInputs inputs(NDManager m) {
        return BertInputs.of(
                m.create(longs(f.path("ids")), new Shape(b, t)),
                m.create(longs(f.path("attention_mask")), new Shape(b, t)),
                m.create(longs(f.path("token_type_ids")), new Shape(b, t)));
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(
                    Math.abs(expected[i] - actual[i]) <= 1e-4,
                    what + "[" + i + "]: " + expected[i] + " vs " + actual[i]);
        }
    }

    @Test
    void headsAndLossesMatchTheReference() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            BertForPretraining model = model(m);
            BertInputs in = inputs(m);
            BertForPretraining.Output out = model.forward(in);
            assertClose(
                    "prediction scores",
                    floats(bert.path("prediction_scores")),
                    out.predictionScores().toFloatArray());
            assertClose(
                    "seq relationship",
                    floats(bert.path("seq_relationship")),
                    out.seqRelationshipScores().toFloatArray());
            NDArray mlmLabels = m.create(longs(bert.path("mlm_labels")), new Shape(b, t));
            NDArray nspLabels = m.create(longs(bert.path("nsp_labels")), new Shape(b));
            float mlm = model.mlmLoss(mlmLabels, in, -100, Reduction.MEAN).getFloat();
            float nsp = model.nspLoss(nspLabels, in, Reduction.MEAN).getFloat();
            assertEquals(bert.path("mlm_loss").asDouble(), mlm, 1e-4);
            assertEquals(bert.path("nsp_loss").asDouble(), nsp, 1e-4);
            assertEquals(
                    2 * mlm + 0.5f * nsp,
                    model.loss(mlmLabels, nspLabels, in, 2f, 0.5f, -100, Reduction.MEAN).getFloat(),
                    1e-4);
            assertEquals(
                    mlm,
                    model.loss(mlmLabels, null, in, 1f, 1f, -100, Reduction.MEAN).getFloat(),
                    1e-6,
                    "without pair labels the NSP term is skipped");
        }
    }

    @Test
    void predictionsAndAccuracies() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            BertForPretraining model = model(m);
            BertInputs in = inputs(m);
            NDArray predicted = model.predictMlmTokenIds(in);
            assertArrayEquals(new long[] {b, t}, predicted.getShape().getShape());
            // Labels equal to the predictions: accuracy 1; shifted by one id: accuracy 0.
            NDArray labels = predicted.duplicate();
            assertEquals(1f, model.mlmAccuracy(labels, in, -100));
            NDArray wrong = labels.add(1).mod(v);
            assertEquals(0f, model.mlmAccuracy(wrong, in, -100));
            NDArray nsp = model.predictNspLabels(in);
            float[] acc = model.accuracy(labels, nsp, in, -100, 3f, 1f);
            assertEquals(1f, acc[0]);
            assertEquals(1f, acc[1]);
            assertEquals(1f, acc[2]);
            float[] mixed = model.accuracy(wrong, nsp, in, -100, 3f, 1f);
            assertEquals(0.25f, mixed[2], 1e-6, "(3·0 + 1·1) / 4");
        }
    }

    @Test
    void createMaskedLmInputsUsesTheDataPrepMasker() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            int rows = 64;
            int len = 32;
            long[] ids = new long[rows * len];
            long[] special = new long[rows * len];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < len; i++) {
                    ids[r * len + i] = i == 0 ? 2 : i == len - 1 ? 3 : 5 + (r * 7 + i) % 20;
                    special[r * len + i] = i == 0 || i == len - 1 ? 1 : 0;
                }
            }
            BitSet specials = new BitSet();
            specials.set(0, 5);
            Masker masker = new Masker(MaskingConfig.defaults(20), 4, 25, specials);
            NDArray input = m.create(ids, new Shape(rows, len));
            NDArray[] out =
                    BertForPretraining.createMaskedLmInputs(
                            input, null, m.create(special, new Shape(rows, len)), masker, 9);
            long[] masked = out[0].toLongArray();
            long[] labels = out[1].toLongArray();
            int predicted = 0;
            for (int i = 0; i < ids.length; i++) {
                if (labels[i] != -100) {
                    predicted++;
                    assertEquals(ids[i], labels[i]);
                    assertEquals(0, special[i], "specials never chosen");
                } else {
                    assertEquals(ids[i], masked[i]);
                }
            }
            assertTrue(
                    predicted > 0.1 * rows * (len - 2) && predicted < 0.2 * rows * (len - 2),
                    "rate: " + predicted);
            NDArray[] again =
                    BertForPretraining.createMaskedLmInputs(
                            input, null, m.create(special, new Shape(rows, len)), masker, 9);
            assertArrayEquals(masked, again[0].toLongArray(), "seeded: the same masks again");
        }
    }
}
