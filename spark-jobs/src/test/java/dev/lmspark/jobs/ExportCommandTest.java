package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.cli.Main;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OutputFolder;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.MaskedLm;
import dev.lmspark.spark.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export --format hf} through the command line: checkpoints written with the model library
 * (a BERT one carrying a tokenizer trained by {@code train-tokenizer}, a Llama one without), laid
 * out as a train output, exported, and read back with {@link HuggingFaceFolder#read}.
 */
@ExtendWith(SharedSpark.class)
class ExportCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path dir;
    static Path tokenizer;
    static NDManager manager;
    static ModelWeights bert;
    static ModelWeights llama;
    static Path bertRun;
    static Path llamaCheckpoint;

    @BeforeAll
    static void checkpoints() throws IOException {
        Path corpus = dir.resolve("corpus");
        ok("sample-corpus", "--output", corpus.toString(), "--size-mb", "0.3", "--seed", "3");
        tokenizer = dir.resolve("tokenizer");
        ok(
                "train-tokenizer",
                "--input",
                corpus.toString(),
                "--output",
                tokenizer.toString(),
                "--type",
                "wordpiece",
                "--lowercase",
                "--vocab-size",
                "500");
        int vocab;
        try (LmTokenizer t =
                LmTokenizer.fromJson(Files.readAllBytes(tokenizer.resolve("tokenizer.json")))) {
            vocab = t.vocabSize();
        }
        manager = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE);
        bert =
                ModelWeights.of(
                        BertForPretraining.initialize(
                                ModelConfig.preset("bert-tiny").withVocabSize(vocab), manager, 1));
        bertRun = dir.resolve("bert-run");
        Path round = bertRun.resolve("checkpoints/round-000001");
        ModelCheckpoint.write(bert, OutputFolder.of(round));
        copyTokenizer(round.resolve("tokenizer"));
        Files.writeString(bertRun.resolve("checkpoints/latest"), "round-000001\n");

        llama =
                ModelWeights.of(
                        CausalLm.initialize(
                                ModelConfig.preset("llama-tiny").withVocabSize(vocab), manager, 2));
        llamaCheckpoint = dir.resolve("llama-run/checkpoints/round-000007");
        ModelCheckpoint.write(llama, OutputFolder.of(llamaCheckpoint));
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static void copyTokenizer(Path to) throws IOException {
        Files.createDirectories(to);
        for (String f : HuggingFaceFolder.TOKENIZER_FILES) {
            Files.copy(tokenizer.resolve(f), to.resolve(f));
        }
    }

    static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    private static List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static JsonNode config(Path folder) throws IOException {
        return JSON.readTree(folder.resolve("config.json").toFile());
    }

    private static void assertSameBits(ModelWeights expected, ModelWeights actual) {
        assertEquals(expected.config(), actual.config());
        Map<String, NDArray> a = expected.parameters();
        Map<String, NDArray> b = actual.parameters();
        assertEquals(new TreeSet<>(a.keySet()), new TreeSet<>(b.keySet()));
        a.forEach(
                (name, x) -> {
                    assertEquals(x.getShape(), b.get(name).getShape(), name);
                    assertArrayEquals(x.toByteArray(), b.get(name).toByteArray(), name);
                });
    }

    @Test
    void aTrainOutputExportsItsLatestCheckpointAsBertForPreTraining() throws IOException {
        Path out = dir.resolve("hf-bert");
        CommandLineRun r =
                ok("export", "--checkpoint", bertRun.toString(), "--output", out.toString());
        assertTrue(r.out().startsWith("export: wrote BertForPreTraining ("), r.out());
        assertTrue(r.out().contains("round-000001") && r.out().contains(out.toString()), r.out());
        assertEquals("", r.err());
        assertEquals(
                List.of(
                        "config.json",
                        "model.safetensors",
                        "special_tokens_map.json",
                        "tokenizer.json",
                        "tokenizer_config.json"),
                files(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(
                    s.noneMatch(p -> p.getFileName().toString().contains("lmspark-tmp")),
                    "a temporary directory was left behind");
        }
        JsonNode config = config(out);
        assertEquals("BertForPreTraining", config.path("architectures").path(0).asText());
        assertEquals(0, config.path("pad_token_id").asInt(-1));
        for (String f : HuggingFaceFolder.TOKENIZER_FILES) {
            assertEquals(-1L, Files.mismatch(tokenizer.resolve(f), out.resolve(f)), f);
        }
        long parameters =
                bert.parameters().values().stream().mapToLong(a -> a.getShape().size()).sum();
        assertTrue(r.out().contains(String.format("%,d parameters", parameters)), r.out());

        var back = HuggingFaceFolder.read(InputFolder.of(out), manager, 9);
        assertEquals("BertForPreTraining", back.architecture());
        assertEquals(List.of(), back.warnings());
        assertSameBits(bert, back.weights());

        // The checkpoint directory itself, as a file: URI, exports the same model.
        Path direct = dir.resolve("hf-bert-direct");
        ok(
                "export",
                "--checkpoint",
                bertRun.resolve("checkpoints/round-000001").toUri().toString(),
                "--output",
                direct.toString(),
                "--format",
                "hf");
        assertEquals(
                -1L,
                Files.mismatch(
                        out.resolve("model.safetensors"), direct.resolve("model.safetensors")));
    }

    @Test
    void aCausalLlamaCheckpointWithoutTokenizerExportsAloneWithAWarning() throws IOException {
        Path out = dir.resolve("hf-llama");
        CommandLineRun r =
                ok(
                        "export",
                        "--checkpoint",
                        llamaCheckpoint.toString(),
                        "--output",
                        out.toString());
        assertTrue(r.out().startsWith("export: wrote LlamaForCausalLM ("), r.out());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(
                r.err().startsWith("export: warning: ") && r.err().contains("tokenizer"), r.err());
        assertEquals(List.of("config.json", "model.safetensors"), files(out));
        assertEquals("LlamaForCausalLM", config(out).path("architectures").path(0).asText());
        var back = HuggingFaceFolder.read(InputFolder.of(out), manager, 9);
        assertEquals("LlamaForCausalLM", back.architecture());
        assertSameBits(llama, back.weights());
    }

    @Test
    void anExistingOutputIsRefusedUnlessOverwriting() throws IOException {
        Path out = dir.resolve("hf-existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        CommandLineRun r =
                CommandLineRun.of(
                        "export", "--checkpoint", bertRun.toString(), "--output", out.toString());
        assertEquals(Main.USAGE, r.status());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("already exists") && r.err().contains("--overwrite"), r.err());
        assertEquals(List.of("keep.txt"), files(out));

        ok("export", "--checkpoint", bertRun.toString(), "--output", out.toString(), "--overwrite");
        assertEquals(5, files(out).size(), files(out).toString());
    }

    @Test
    void aMissingCheckpointOrADanglingLatestIsOneLine() throws IOException {
        Path out = dir.resolve("never");
        CommandLineRun missing =
                CommandLineRun.of(
                        "export",
                        "--checkpoint",
                        dir.resolve("nope").toString(),
                        "--output",
                        out.toString());
        assertEquals(Main.USAGE, missing.status());
        assertEquals(1, missing.errLines().size(), missing.err());
        assertTrue(
                missing.err().startsWith("lmspark export: --checkpoint ")
                        && missing.err().contains("nope does not exist"),
                missing.err());

        Path dangling = dir.resolve("dangling-run");
        Files.createDirectories(dangling.resolve("checkpoints"));
        Files.writeString(dangling.resolve("checkpoints/latest"), "round-000042\n");
        CommandLineRun r =
                CommandLineRun.of(
                        "export", "--checkpoint", dangling.toString(), "--output", out.toString());
        assertEquals(Main.USAGE, r.status());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(
                r.err().contains("latest names round-000042, which is missing or incomplete"),
                r.err());

        Path noLatest = dir.resolve("no-latest-run");
        Files.createDirectories(noLatest.resolve("checkpoints/round-000001"));
        CommandLineRun none =
                CommandLineRun.of(
                        "export", "--checkpoint", noLatest.toString(), "--output", out.toString());
        assertEquals(Main.USAGE, none.status());
        assertEquals(1, none.errLines().size(), none.err());
        assertTrue(none.err().contains("checkpoints/latest"), none.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void onlyTheHfFormatExists() {
        CommandLineRun r =
                CommandLineRun.of(
                        "export",
                        "--checkpoint",
                        bertRun.toString(),
                        "--output",
                        dir.resolve("onnx").toString(),
                        "--format",
                        "onnx");
        assertEquals(Main.USAGE, r.status());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("'onnx'") && r.err().contains("use hf"), r.err());
        assertFalse(Files.exists(dir.resolve("onnx")));

        CommandLineRun noOutput = CommandLineRun.of("export", "--checkpoint", bertRun.toString());
        assertEquals(Main.USAGE, noOutput.status());
        assertEquals(1, noOutput.errLines().size(), noOutput.err());
    }

    @Test
    void anArchitectureWithoutAHuggingFaceClassIsNamed() throws IOException {
        ModelConfig rotary =
                new ModelConfig(
                        "rotary-mlm",
                        64,
                        32,
                        1,
                        2,
                        64,
                        64,
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
                        false,
                        0.02);
        Path checkpoint = dir.resolve("rotary-run/checkpoints/round-000001");
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            ModelCheckpoint.write(
                    ModelWeights.of(MaskedLm.initialize(rotary, m, 3)),
                    OutputFolder.of(checkpoint));
        }
        Files.writeString(dir.resolve("rotary-run/checkpoints/latest"), "round-000001");
        Path out = dir.resolve("hf-rotary");
        CommandLineRun r =
                CommandLineRun.of(
                        "export",
                        "--checkpoint",
                        dir.resolve("rotary-run").toString(),
                        "--output",
                        out.toString());
        assertEquals(Main.USAGE, r.status());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("rotary-mlm") && r.err().contains("bert"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void helpNamesTheFlags() {
        CommandLineRun help = CommandLineRun.of("export", "--help");
        assertEquals(0, help.status(), help.err());
        for (String flag :
                List.of("--checkpoint", "--output", "--format", "--overwrite", "--config")) {
            assertTrue(help.out().contains(flag), flag);
        }
        assertTrue(CommandLineRun.of("--help").out().contains("export"));
    }
}
