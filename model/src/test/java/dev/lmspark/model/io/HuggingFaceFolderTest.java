package dev.lmspark.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceConfig.SpecialTokenIds;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.MaskedLm;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Hugging Face folders: the fixtures of {@code model/src/test/python/make_hf_fixtures.py} (an
 * independent PyTorch implementation of BertForPreTraining, BertLMHeadModel and LlamaForCausalLM)
 * imported and run within 1e-4 of the reference logits; export writing the fixtures' bytes; export
 * then import bit for bit; the leniencies of real downloads; clear refusals.
 */
class HuggingFaceFolderTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> FIXTURES = List.of("bert-for-pretraining", "bert-lm-head", "llama");

    static Path fixture(String name) throws Exception {
        return Path.of(HuggingFaceFolderTest.class.getResource("/fixtures/hf/" + name).toURI());
    }

    static Map<String, byte[]> files(String name) throws Exception {
        Map<String, byte[]> files = new TreeMap<>();
        for (String f : List.of("config.json", "model.safetensors")) {
            files.put(f, Files.readAllBytes(fixture(name).resolve(f)));
        }
        return files;
    }

    static JsonNode expected(String name) throws Exception {
        return JSON.readTree(fixture(name).resolve("expected.json").toFile());
    }

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    static double maxAbsDifference(JsonNode expected, NDArray actual) {
        float[] values = actual.toFloatArray();
        assertEquals(expected.size(), values.length);
        double worst = 0;
        for (int i = 0; i < values.length; i++) {
            worst = Math.max(worst, Math.abs(expected.get(i).asDouble() - values[i]));
        }
        return worst;
    }

    /** The fixture's logits from {@code weights}: name to largest absolute difference. */
    static Map<String, Double> differences(String name, ModelWeights weights, NDManager m)
            throws Exception {
        JsonNode e = expected(name);
        Shape bt = new Shape(e.path("batch").asLong(), e.path("time").asLong());
        NDArray ids = m.create(longs(e.path("input_ids")), bt);
        NDArray mask = m.create(longs(e.path("attention_mask")), bt);
        Map<String, Double> out = new LinkedHashMap<>();
        if (name.equals("bert-for-pretraining")) {
            NDArray types = m.create(longs(e.path("token_type_ids")), bt);
            var o = weights.toBertForPretraining().forward(BertInputs.of(ids, mask, types));
            out.put(
                    "prediction_logits",
                    maxAbsDifference(e.path("prediction_logits"), o.predictionScores()));
            out.put(
                    "seq_relationship_logits",
                    maxAbsDifference(e.path("seq_relationship_logits"), o.seqRelationshipScores()));
        } else {
            NDArray logits = weights.toCausalLm().forward(ids, mask, null);
            out.put("logits", maxAbsDifference(e.path("logits"), logits));
        }
        return out;
    }

    static void assertMatchesReference(String name, ModelWeights weights, NDManager m)
            throws Exception {
        differences(name, weights, m)
                .forEach(
                        (what, worst) -> {
                            System.out.printf(
                                    "hf fixture %s %s: max abs difference %s%n", name, what, worst);
                            assertTrue(worst <= 1e-4, name + " " + what + ": " + worst);
                        });
    }

    @Test
    void fixturesImportAndMatchTheReferenceLogits() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            for (String name : FIXTURES) {
                var imported = HuggingFaceFolder.read(InputFolder.of(fixture(name)), m, 0);
                assertEquals(List.of(), imported.warnings(), name);
                assertMatchesReference(name, imported.weights(), m);
            }
            var llama = HuggingFaceFolder.read(InputFolder.of(fixture("llama")), m, 0);
            assertEquals(LlamaExpectations.CONFIG, llama.weights().config());
            assertEquals(new SpecialTokenIds(1, 0, 0), llama.tokens());
            assertEquals("LlamaForCausalLM", llama.architecture());
            var bert = HuggingFaceFolder.read(InputFolder.of(fixture("bert-lm-head")), m, 0);
            assertTrue(bert.weights().config().causal());
            assertEquals("BertLMHeadModel", bert.architecture());
        }
    }

    /** What the llama fixture's config.json says, as an lmspark config. */
    static final class LlamaExpectations {
        static final ModelConfig CONFIG =
                new ModelConfig(
                        "llama", 40, 16, 2, 2, 24, 32, "rotary", 0, true, true, "rmsnorm", 1e-5,
                        "swiglu", false, 0.0, 500000.0, false, 0.02);
    }

    @Test
    void exportWritesTheFixtureBytes() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            for (String name : FIXTURES) {
                var imported = HuggingFaceFolder.read(InputFolder.of(fixture(name)), m, 0);
                Map<String, byte[]> out = new TreeMap<>();
                HuggingFaceFolder.write(
                        imported.weights(), imported.tokens(), Map.of(), OutputFolder.of(out::put));
                Map<String, byte[]> reference = files(name);
                assertEquals(
                        new String(reference.get("config.json"), StandardCharsets.UTF_8),
                        new String(out.get("config.json"), StandardCharsets.UTF_8),
                        name);
                assertArrayEquals(
                        reference.get("model.safetensors"), out.get("model.safetensors"), name);
            }
        }
    }

    @Test
    void exportThenImportIsBitExact() throws Exception {
        ModelConfig bert = ModelConfig.preset("bert-tiny").withVocabSize(300);
        ModelConfig llama = ModelConfig.preset("llama-tiny").withVocabSize(300);
        ModelConfig tiedLlama =
                new ModelConfig(
                        "llama", 300, 64, 2, 4, 96, 128, "rotary", 0, true, true, "rmsnorm", 1e-6,
                        "swiglu", false, 0.0, 10000, true, 0.02);
        Map<String, byte[]> tokenizer = new LinkedHashMap<>();
        for (String f : HuggingFaceFolder.TOKENIZER_FILES) {
            tokenizer.put(f, ("{\"file\": \"" + f + "\"}").getBytes(StandardCharsets.UTF_8));
        }
        try (NDManager m = ModelCheckpointTest.manager()) {
            List<ModelWeights> models =
                    List.of(
                            ModelWeights.of(BertForPretraining.initialize(bert, m, 1)),
                            ModelWeights.of(CausalLm.initialize(bert.withCausal(true), m, 2)),
                            ModelWeights.of(CausalLm.initialize(llama, m, 3)),
                            ModelWeights.of(CausalLm.initialize(tiedLlama, m, 4)));
            List<String> architectures =
                    List.of(
                            "BertForPreTraining",
                            "BertLMHeadModel",
                            "LlamaForCausalLM",
                            "LlamaForCausalLM");
            SpecialTokenIds tokens = new SpecialTokenIds(0, 2, 3);
            for (int i = 0; i < models.size(); i++) {
                ModelWeights model = models.get(i);
                Map<String, byte[]> out = new TreeMap<>();
                HuggingFaceFolder.write(model, tokens, tokenizer, OutputFolder.of(out::put));
                tokenizer.forEach((f, bytes) -> assertArrayEquals(bytes, out.get(f), f));
                var back = HuggingFaceFolder.read(InputFolder.of(out), m, 99);
                assertEquals(List.of(), back.warnings());
                assertEquals(architectures.get(i), back.architecture());
                assertEquals(model.config(), back.weights().config());
                assertEquals(tokens, back.tokens());
                ModelCheckpointTest.assertSameBits(model.parameters(), back.weights().parameters());

                String header = safetensorsHeader(out.get("model.safetensors"));
                assertTrue(
                        !header.contains("decoder.weight") && !header.contains("decoder.bias"),
                        header);
                assertEquals(
                        !model.config().tieWordEmbeddings(), header.contains("\"lm_head.weight\""));
            }
        }
    }

    static String safetensorsHeader(byte[] file) {
        long n =
                java.nio.ByteBuffer.wrap(file, 0, 8)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .getLong();
        return new String(file, 8, (int) n, StandardCharsets.UTF_8);
    }

    /** The fixture's weights, changed by {@code edit}, as a safetensors file. */
    static byte[] edited(
            String name, NDManager m, java.util.function.Consumer<Map<String, NDArray>> edit)
            throws Exception {
        Map<String, NDArray> tensors =
                new LinkedHashMap<>(
                        SafeTensors.read(
                                new ByteArrayInputStream(files(name).get("model.safetensors")), m));
        edit.accept(tensors);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(tensors, Map.of("format", "pt"), out);
        return out.toByteArray();
    }

    @Test
    void aMaskedLmDownloadGetsFreshPoolerAndNspHeads() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            Map<String, byte[]> files = files("bert-for-pretraining");
            files.put(
                    "config.json",
                    new String(files.get("config.json"), StandardCharsets.UTF_8)
                            .replace("BertForPreTraining", "BertForMaskedLM")
                            .getBytes(StandardCharsets.UTF_8));
            files.put(
                    "model.safetensors",
                    edited(
                            "bert-for-pretraining",
                            m,
                            t ->
                                    t.keySet()
                                            .removeIf(
                                                    n ->
                                                            n.contains("pooler")
                                                                    || n.contains(
                                                                            "seq_relationship"))));
            var imported = HuggingFaceFolder.read(InputFolder.of(files), m, 5);
            assertEquals("BertForMaskedLM", imported.architecture());
            assertEquals(1, imported.warnings().size(), imported.warnings().toString());
            String warning = imported.warnings().get(0);
            for (String n :
                    List.of(
                            "bert.pooler.dense.weight",
                            "bert.pooler.dense.bias",
                            "cls.seq_relationship.weight",
                            "cls.seq_relationship.bias")) {
                assertTrue(warning.contains(n), warning);
            }
            assertTrue(
                    differences("bert-for-pretraining", imported.weights(), m)
                                    .get("prediction_logits")
                            <= 1e-4);
            // Fresh heads are initialised as lmspark initialises them.
            var fresh =
                    BertForPretraining.initialize(imported.weights().config(), m, 5).parameters();
            assertArrayEquals(
                    fresh.get("nsp.weight").toByteArray(),
                    imported.weights().parameters().get("nsp.weight").toByteArray());
        }
    }

    @Test
    void oldNamesTiedCopiesBuffersAndBaseModelFilesAreAccepted() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            Map<String, byte[]> files = files("bert-for-pretraining");
            files.put(
                    "model.safetensors",
                    edited(
                            "bert-for-pretraining",
                            m,
                            t -> {
                                Map<String, NDArray> old = new LinkedHashMap<>();
                                t.forEach(
                                        (n, a) ->
                                                old.put(
                                                        n.replace(
                                                                        "LayerNorm.weight",
                                                                        "LayerNorm.gamma")
                                                                .replace(
                                                                        "LayerNorm.bias",
                                                                        "LayerNorm.beta"),
                                                        a));
                                old.put(
                                        "cls.predictions.decoder.weight",
                                        t.get("bert.embeddings.word_embeddings.weight"));
                                old.put(
                                        "cls.predictions.decoder.bias",
                                        t.get("cls.predictions.bias"));
                                old.put(
                                        "bert.embeddings.position_ids",
                                        m.arange(16L).reshape(1, 16));
                                t.clear();
                                t.putAll(old);
                            }));
            assertTrue(
                    safetensorsHeader(files.get("model.safetensors")).contains("LayerNorm.gamma"));
            var imported = HuggingFaceFolder.read(InputFolder.of(files), m, 0);
            assertEquals(List.of(), imported.warnings());
            assertMatchesReference("bert-for-pretraining", imported.weights(), m);

            // A tied copy that differs is reported; an unknown weight is reported as unused.
            files.put(
                    "model.safetensors",
                    edited(
                            "bert-for-pretraining",
                            m,
                            t -> {
                                t.put(
                                        "cls.predictions.decoder.weight",
                                        t.get("bert.embeddings.word_embeddings.weight").add(1));
                                t.put("classifier.weight", m.zeros(new Shape(3, 16)));
                            }));
            imported = HuggingFaceFolder.read(InputFolder.of(files), m, 0);
            assertEquals(2, imported.warnings().size(), imported.warnings().toString());
            assertTrue(
                    imported.warnings().get(0).contains("cls.predictions.decoder.weight differs"));
            assertTrue(imported.warnings().get(1).contains("classifier.weight"));

            // Saved from LlamaModel: no "model." prefix (and here without its head).
            Map<String, byte[]> base = files("llama");
            base.put(
                    "model.safetensors",
                    edited(
                            "llama",
                            m,
                            t -> {
                                Map<String, NDArray> stripped = new LinkedHashMap<>();
                                t.forEach(
                                        (n, a) -> stripped.put(n.replaceFirst("^model\\.", ""), a));
                                t.clear();
                                t.putAll(stripped);
                            }));
            imported = HuggingFaceFolder.read(InputFolder.of(base), m, 0);
            assertEquals(List.of(), imported.warnings());
            assertMatchesReference("llama", imported.weights(), m);
        }
    }

    @Test
    void shardedAndHalfPrecisionWeightsAreRead() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            Map<String, NDArray> all =
                    SafeTensors.read(
                            new ByteArrayInputStream(files("llama").get("model.safetensors")), m);
            Map<String, NDArray> first = new LinkedHashMap<>();
            Map<String, NDArray> second = new LinkedHashMap<>();
            StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
            all.forEach(
                    (n, a) -> {
                        boolean one = n.contains("layers.0") || n.contains("embed");
                        (one ? first : second).put(n, a);
                        index.append(first.size() + second.size() > 1 ? ", " : "")
                                .append('"')
                                .append(n)
                                .append("\": \"")
                                .append(
                                        one
                                                ? "model-00001-of-00002.safetensors"
                                                : "model-00002-of-00002.safetensors")
                                .append('"');
                    });
            index.append("}}");
            Map<String, byte[]> files = new TreeMap<>();
            files.put("config.json", files("llama").get("config.json"));
            files.put(
                    "model.safetensors.index.json",
                    index.toString().getBytes(StandardCharsets.UTF_8));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            SafeTensors.write(first, Map.of("format", "pt"), out);
            files.put("model-00001-of-00002.safetensors", out.toByteArray());
            out = new ByteArrayOutputStream();
            SafeTensors.write(second, Map.of("format", "pt"), out);
            files.put("model-00002-of-00002.safetensors", out.toByteArray());
            var imported = HuggingFaceFolder.read(InputFolder.of(files), m, 0);
            assertEquals(List.of(), imported.warnings());
            assertMatchesReference("llama", imported.weights(), m);

            Map<String, byte[]> half = files("llama");
            half.put(
                    "model.safetensors",
                    edited(
                            "llama",
                            m,
                            t -> t.replaceAll((n, a) -> a.toType(DataType.FLOAT16, false))));
            imported = HuggingFaceFolder.read(InputFolder.of(half), m, 0);
            assertEquals(List.of("converted float16 weights to float32"), imported.warnings());
            assertEquals(
                    DataType.FLOAT32,
                    imported.weights().parameters().get("embeddings.word").getDataType());

            // bfloat16, as torch saves a model loaded with torch_dtype=torch.bfloat16: written
            // here byte by byte (the top half of each float32), read back exactly.
            Map<String, byte[]> brain = files("llama");
            brain.put("model.safetensors", bfloat16(all));
            imported = HuggingFaceFolder.read(InputFolder.of(brain), m, 0);
            assertEquals(List.of("converted bfloat16 weights to float32"), imported.warnings());
            float[] original = all.get("model.embed_tokens.weight").toFloatArray();
            float[] read = imported.weights().parameters().get("embeddings.word").toFloatArray();
            for (int i = 0; i < original.length; i++) {
                assertEquals(
                        Float.floatToRawIntBits(original[i]) & 0xffff0000,
                        Float.floatToRawIntBits(read[i]));
            }
        }
    }

    /** {@code f32} as a bfloat16 safetensors file (each value's top 16 bits), built by hand. */
    static byte[] bfloat16(Map<String, NDArray> f32) throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode header = JSON.createObjectNode();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (var e : new TreeMap<>(f32).entrySet()) {
            float[] v = e.getValue().toFloatArray();
            java.nio.ByteBuffer b =
                    java.nio.ByteBuffer.allocate(v.length * 2)
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                b.putShort((short) (Float.floatToRawIntBits(x) >>> 16));
            }
            var entry = header.putObject(e.getKey());
            entry.put("dtype", "BF16");
            var shape = entry.putArray("shape");
            for (long d : e.getValue().getShape().getShape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(data.size()).add(data.size() + v.length * 2);
            data.write(b.array());
        }
        StringBuilder json = new StringBuilder(JSON.writeValueAsString(header));
        while (json.length() % 8 != 0) {
            json.append(' ');
        }
        byte[] h = json.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(
                java.nio.ByteBuffer.allocate(8)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .putLong(h.length)
                        .array());
        out.write(h);
        out.write(data.toByteArray());
        return out.toByteArray();
    }

    static String refusal(Map<String, byte[]> files, NDManager m) {
        IOException e =
                assertThrows(
                        IOException.class,
                        () -> HuggingFaceFolder.read(InputFolder.of(files), m, 0));
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    static Map<String, byte[]> withConfig(String fixture, String from, String to) throws Exception {
        Map<String, byte[]> files = files(fixture);
        String config = new String(files.get("config.json"), StandardCharsets.UTF_8);
        assertTrue(config.contains(from), from);
        files.put("config.json", config.replace(from, to).getBytes(StandardCharsets.UTF_8));
        return files;
    }

    @Test
    void unsupportedFoldersAreRefusedClearly() throws Exception {
        try (NDManager m = ModelCheckpointTest.manager()) {
            String roberta =
                    refusal(
                            withConfig(
                                    "bert-for-pretraining",
                                    "BertForPreTraining",
                                    "RobertaForMaskedLM"),
                            m);
            assertTrue(
                    roberta.contains("architecture RobertaForMaskedLM is not supported"), roberta);
            assertTrue(
                    roberta.contains("lmspark imports BertForPreTraining, BertForMaskedLM")
                            && roberta.contains("LlamaForCausalLM"),
                    roberta);

            Map<String, byte[]> bin = files("bert-for-pretraining");
            bin.put("pytorch_model.bin", bin.remove("model.safetensors"));
            String message = refusal(bin, m);
            assertTrue(message.contains("pytorch_model.bin but no model.safetensors"), message);
            assertTrue(message.contains("only safetensors"), message);

            message =
                    refusal(
                            withConfig(
                                    "llama",
                                    "\"num_key_value_heads\": 2",
                                    "\"num_key_value_heads\": 1"),
                            m);
            assertTrue(message.contains("num_key_value_heads 1"), message);
            message =
                    refusal(
                            withConfig(
                                    "bert-lm-head",
                                    "\"hidden_act\": \"gelu\"",
                                    "\"hidden_act\": \"gelu_new\""),
                            m);
            assertTrue(message.contains("hidden_act \"gelu_new\" is not supported"), message);
            message =
                    refusal(
                            withConfig(
                                    "bert-lm-head", "\"hidden_size\": 16", "\"hidden_size\": 32"),
                            m);
            assertTrue(message.contains("has shape (40, 16), config.json needs (40, 32)"), message);

            Map<String, byte[]> noLayer = files("llama");
            noLayer.put(
                    "model.safetensors",
                    edited(
                            "llama",
                            m,
                            t -> t.keySet().removeIf(n -> n.startsWith("model.layers.1."))));
            message = refusal(noLayer, m);
            assertTrue(message.contains("lacks model.layers.1.self_attn.q_proj.weight"), message);
            assertTrue(message.contains("and 4 more"), message);

            IllegalArgumentException rotary =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    HuggingFaceFolder.write(
                                            ModelWeights.of(
                                                    MaskedLm.initialize(
                                                            ModelConfig.preset("rotary-mlm-small")
                                                                    .withVocabSize(50),
                                                            m,
                                                            0)),
                                            SpecialTokenIds.NONE,
                                            Map.of(),
                                            OutputFolder.of((n, b) -> {})));
            assertTrue(rotary.getMessage().contains("rotary-mlm has no Hugging Face equivalent"));
            ModelConfig preLn =
                    new ModelConfig(
                            "bert",
                            50,
                            16,
                            1,
                            2,
                            32,
                            16,
                            "learned",
                            2,
                            false,
                            true,
                            "layernorm",
                            1e-12,
                            "gelu",
                            true,
                            0.1,
                            10000,
                            true,
                            0.02);
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> HuggingFaceConfig.toJson(preLn, SpecialTokenIds.NONE));
            assertTrue(
                    e.getMessage().contains("pre_norm = true cannot be expressed"), e.getMessage());
        }
    }

    @Test
    void floatsAreWrittenAsPythonWritesThem() {
        Map<Double, String> cases = new LinkedHashMap<>();
        cases.put(1e-12, "1e-12");
        cases.put(1e-5, "1e-05");
        cases.put(1.5e-7, "1.5e-07");
        cases.put(0.0001, "0.0001");
        cases.put(0.02, "0.02");
        cases.put(0.1, "0.1");
        cases.put(0.0, "0.0");
        cases.put(10000.0, "10000.0");
        cases.put(1e16, "1e+16");
        cases.put(123.25, "123.25");
        cases.forEach(
                (d, s) -> assertEquals(s, HuggingFaceConfig.pythonFloat(d), String.valueOf(d)));
    }
}
