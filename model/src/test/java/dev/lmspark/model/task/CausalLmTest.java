package dev.lmspark.model.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.nn.Transformer;
import java.io.InputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Llama causal LM (logits and shifted loss) against the PyTorch reference; the BERT LM head.
 */
class CausalLmTest {

    @Test
    void llamaLogitsAndShiftedLossMatchTheReference() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/transformer.json")) {
            f = new ObjectMapper().readTree(in);
        }
        JsonNode d = f.path("dims");
        JsonNode llama = f.path("cases").path("llama");
        int b = d.path("B").asInt();
        int t = d.path("T").asInt();
        ModelConfig c =
                new ModelConfig(
                        "llama",
                        d.path("V").asInt(),
                        d.path("H").asInt(),
                        d.path("L").asInt(),
                        d.path("A").asInt(),
                        d.path("I").asInt(),
                        d.path("P").asInt(),
                        "rotary",
                        0,
                        true,
                        true,
                        "rmsnorm",
                        1e-5,
                        "swiglu",
                        false,
                        0.0,
                        10000,
                        false,
                        0.02);
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Map<String, NDArray> trunk = new LinkedHashMap<>();
            Map<String, NDArray> head = new LinkedHashMap<>();
            llama.path("weights")
                    .fields()
                    .forEachRemaining(
                            e -> {
                                NDArray a =
                                        m.create(
                                                BertForPretrainingTest.floats(
                                                        e.getValue().path("values")),
                                                new Shape(
                                                        BertForPretrainingTest.longs(
                                                                e.getValue().path("shape"))));
                                (e.getKey().startsWith("lm_head") ? head : trunk)
                                        .put(e.getKey(), a);
                            });
            CausalLm model = new CausalLm(new Transformer(c, trunk), head);
            NDArray ids = m.create(BertForPretrainingTest.longs(f.path("ids")), new Shape(b, t));
            NDArray mask =
                    m.create(
                            BertForPretrainingTest.longs(f.path("attention_mask")),
                            new Shape(b, t));
            NDArray logits = model.forward(ids, mask, null);
            float[] expected = BertForPretrainingTest.floats(llama.path("logits"));
            float[] actual = logits.toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-4, "logit " + i);
            }
            NDArray labels =
                    m.create(
                            BertForPretrainingTest.longs(llama.path("clm_labels")),
                            new Shape(b, t));
            assertEquals(
                    llama.path("clm_loss").asDouble(), model.loss(logits, labels).getFloat(), 1e-4);
        }
    }

    @Test
    void bertLmHeadSharesTheWordEmbeddings() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            ModelConfig c = ModelConfig.preset("bert-tiny").withVocabSize(50).withCausal(true);
            CausalLm model = CausalLm.initialize(c, m, 3);
            NDArray ids = m.create(new long[] {5, 6, 7, 8}, new Shape(1, 4));
            NDArray logits = model.forward(ids, null, null);
            assertEquals(new Shape(1, 4, 50), logits.getShape());
            assertEquals(
                    model.trunk().parameters().get("embeddings.word"), model.getOutputEmbeddings());
            assertThrows(
                    IllegalStateException.class,
                    () -> model.setOutputEmbeddings(m.zeros(new Shape(50, 128))));
            // Causal: the first position's logits do not change when later tokens do.
            NDArray other =
                    model.forward(m.create(new long[] {5, 9, 9, 9}, new Shape(1, 4)), null, null);
            float[] a = logits.get("0, 0, :").toFloatArray();
            float[] o = other.get("0, 0, :").toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], o[i], 1e-5);
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> CausalLm.initialize(ModelConfig.preset("bert-tiny"), m, 1),
                    "a bidirectional trunk is refused");
        }
    }

    @Test
    void trainingModeDropoutIsDrawnFromTheCallersGenerator() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            ModelConfig c = ModelConfig.preset("bert-tiny").withVocabSize(50).withCausal(true);
            CausalLm model = CausalLm.initialize(c, m, 3);
            NDArray ids = m.create(new long[] {5, 6, 7, 8, 9, 10}, new Shape(1, 6));
            float[] inference = model.forward(ids, null, null).toFloatArray();
            float[] noDropout = model.forward(ids, null, null, null).toFloatArray();
            float[] a = model.forward(ids, null, null, new SplittableRandom(7)).toFloatArray();
            float[] b = model.forward(ids, null, null, new SplittableRandom(7)).toFloatArray();
            float[] other = model.forward(ids, null, null, new SplittableRandom(8)).toFloatArray();
            assertArrayEquals(inference, noDropout);
            assertArrayEquals(a, b, "the same generator drops the same units");
            assertFalse(Arrays.equals(a, inference), "dropout 0.1 changes the logits");
            assertFalse(Arrays.equals(a, other), "another generator drops other units");
        }
    }
}
