package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Slow suite (needs Node.js and npm): the trained files encode to the same ids in a second,
 * independent Hugging Face implementation — the pure-JS {@code @huggingface/tokenizers} — as in the
 * Rust one DJL wraps.
 */
@Tag("slow")
@ExtendWith(SharedSpark.class)
class TokenizerPortabilityTest {
    static final Path JS = Path.of("target/js");

    @TempDir static Path dir;

    @BeforeAll
    static void installJsTokenizers() throws Exception {
        Files.createDirectories(JS);
        for (String f : List.of("package.json", "encode.mjs")) {
            Files.copy(
                    Path.of("src/test/js", f), JS.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        run(List.of("npm", "install", "--no-audit", "--no-fund", "--silent"), JS);
    }

    private static void run(List<String> command, Path cwd) throws Exception {
        Process p = new ProcessBuilder(command).directory(cwd.toFile()).inheritIO().start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), command.toString());
        assertEquals(0, p.exitValue(), command.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"wordpiece", "bpe"})
    void javascriptAndRustEncodeToTheSameIds(String type) throws Exception {
        boolean wordpiece = type.equals("wordpiece");
        Path corpus = dir.resolve("corpus-" + type);
        Path tokenizer = dir.resolve("tokenizer-" + type);
        assertEquals(
                0,
                CommandLineRun.of(
                                "sample-corpus",
                                "--output",
                                corpus.toString(),
                                "--size-mb",
                                "2",
                                "--kind",
                                wordpiece ? "prose" : "code")
                        .status());
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "train-tokenizer",
                                "--input",
                                corpus.toString(),
                                "--output",
                                tokenizer.toString(),
                                "--type",
                                type,
                                "--vocab-size",
                                "3000"));
        if (wordpiece) {
            args.add("--lowercase");
        }
        CommandLineRun trained = CommandLineRun.of(args.toArray(String[]::new));
        assertEquals(0, trained.status(), trained.err());

        ObjectMapper json = new ObjectMapper();
        Path docs = dir.resolve("docs-" + type + ".jsonl");
        List<String> texts = new ArrayList<>();
        for (String line :
                Files.readAllLines(corpus.resolve("part-00000.jsonl")).subList(0, 2000)) {
            texts.add(json.readTree(line).get("text").asText());
        }
        texts.add("Ünïcödé «quotes», tabs\tand  double  spaces; emoji 🙂 and 中文 too!");
        List<String> lines = new ArrayList<>();
        for (String t : texts) {
            lines.add(json.writeValueAsString(Map.of("text", t)));
        }
        Files.write(docs, lines);

        Path ids = dir.resolve("ids-" + type + ".jsonl");
        Process node =
                new ProcessBuilder(
                                "node",
                                JS.resolve("encode.mjs").toString(),
                                tokenizer.toString(),
                                docs.toString())
                        .redirectOutput(ids.toFile())
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        assertTrue(node.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, node.exitValue());
        List<String> jsIds = Files.readAllLines(ids);
        assertEquals(texts.size(), jsIds.size());
        try (HuggingFaceTokenizer rust =
                HuggingFaceTokenizer.newInstance(tokenizer.resolve("tokenizer.json"), Map.of())) {
            for (int i = 0; i < texts.size(); i++) {
                long[] expected = rust.encode(texts.get(i)).getIds();
                long[] actual = json.readValue(jsIds.get(i), long[].class);
                assertEquals(
                        java.util.Arrays.toString(expected),
                        java.util.Arrays.toString(actual),
                        texts.get(i));
            }
        }
    }
}
