package dev.lmspark.model.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The trunk against an independent PyTorch implementation of the Hugging Face BERT and Llama
 * architectures ({@code model/src/test/python/make_transformer_fixtures.py}), within 1e-4; and
 * padding invariance.
 */
class TransformerFixtureTest {
    static JsonNode f;
    static int b;
    static int t;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in =
                TransformerFixtureTest.class.getResourceAsStream("/fixtures/transformer.json")) {
            f = new ObjectMapper().readTree(in);
        }
        b = f.path("dims").path("B").asInt();
        t = f.path("dims").path("T").asInt();
    }

    static ModelConfig config(String architecture) {
        JsonNode d = f.path("dims");
        int v = d.path("V").asInt();
        int h = d.path("H").asInt();
        int l = d.path("L").asInt();
        int a = d.path("A").asInt();
        int i = d.path("I").asInt();
        int p = d.path("P").asInt();
        return architecture.equals("bert")
                ? new ModelConfig(
                        "bert",
                        v,
                        h,
                        l,
                        a,
                        i,
                        p,
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
                        0.02)
                : new ModelConfig(
                        "llama", v, h, l, a, i, p, "rotary", 0, true, true, "rmsnorm", 1e-5,
                        "swiglu", false, 0.0, 10000, false, 0.02);
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

    static Transformer load(NDManager m, String name) {
        ModelConfig c = config(name);
        var trunk = Transformer.parameterShapes(c).keySet();
        Map<String, NDArray> params = new LinkedHashMap<>();
        f.path("cases")
                .path(name)
                .path("weights")
                .fields()
                .forEachRemaining(
                        e -> {
                            if (trunk.contains(e.getKey())) {
                                long[] shape = longs(e.getValue().path("shape"));
                                params.put(
                                        e.getKey(),
                                        m.create(
                                                floats(e.getValue().path("values")),
                                                new Shape(shape)));
                            }
                        });
        assertTrue(params.keySet().equals(trunk), params.keySet().toString());
        return new Transformer(c, params);
    }

    private static void assertClose(
            String what, float[] expected, float[] actual, double tolerance) {
        assertTrue(expected.length == actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tolerance, what + ": largest difference " + worst);
    }

    private void check(String name) {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Transformer model = load(m, name);
            NDArray ids = m.create(longs(f.path("ids")), new Shape(b, t));
            NDArray mask = m.create(longs(f.path("attention_mask")), new Shape(b, t));
            NDArray types = m.create(longs(f.path("token_type_ids")), new Shape(b, t));
            NDArray hidden =
                    model.forward(ids, mask, name.equals("bert") ? types : null, null, null);
            assertClose(
                    name,
                    floats(f.path("cases").path(name).path("hidden")),
                    hidden.toFloatArray(),
                    1e-4);
        }
    }

    @Test
    void bertTrunkMatchesTheReference() {
        check("bert");
    }

    @Test
    void llamaTrunkMatchesTheReference() {
        check("llama");
    }

    @Test
    void realTokensIgnoreHowMuchPaddingFollows() {
        for (String name : new String[] {"bert", "llama"}) {
            try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
                Transformer model = load(m, name);
                long[] ids = longs(f.path("ids"));
                long[] mask = longs(f.path("attention_mask"));
                int extra = 5;
                long[] paddedIds = new long[b * (t + extra)];
                long[] paddedMask = new long[b * (t + extra)];
                for (int r = 0; r < b; r++) {
                    System.arraycopy(ids, r * t, paddedIds, r * (t + extra), t);
                    System.arraycopy(mask, r * t, paddedMask, r * (t + extra), t);
                }
                float[] base =
                        model.forward(
                                        m.create(ids, new Shape(b, t)),
                                        m.create(mask, new Shape(b, t)),
                                        null,
                                        null,
                                        null)
                                .toFloatArray();
                float[] padded =
                        model.forward(
                                        m.create(paddedIds, new Shape(b, t + extra)),
                                        m.create(paddedMask, new Shape(b, t + extra)),
                                        null,
                                        null,
                                        null)
                                .toFloatArray();
                int h = (int) model.config().hiddenSize();
                for (int r = 0; r < b; r++) {
                    for (int k = 0; k < t; k++) {
                        if (mask[r * t + k] == 0) {
                            continue;
                        }
                        for (int j = 0; j < h; j++) {
                            float x = base[(r * t + k) * h + j];
                            float y = padded[(r * (t + extra) + k) * h + j];
                            assertTrue(Math.abs(x - y) <= 1e-5, name + " row " + r + " token " + k);
                        }
                    }
                }
            }
        }
    }
}
