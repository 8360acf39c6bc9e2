package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.data.tokenizer.BertNormalizer;
import dev.lmspark.spark.DocumentReader;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.SharedSpark;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sample-corpus} then {@code train-tokenizer}, through the command line on a shared local
 * SparkSession, and the trained files read back by DJL's Hugging Face tokenizer.
 */
@ExtendWith(SharedSpark.class)
class TrainTokenizerJobTest {

    @TempDir static Path dir;
    static Path prose;
    static Path code;

    @BeforeAll
    static void corpora() {
        prose = dir.resolve("prose");
        code = dir.resolve("code");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "2", "--seed", "5");
        ok("sample-corpus", "--output", code.toString(), "--kind", "code", "--size-mb", "2");
    }

    static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    private static List<String> lines(Path corpus, int n) throws IOException {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> docs = new ArrayList<>();
        for (String line : Files.readAllLines(corpus.resolve("part-00000.jsonl")).subList(0, n)) {
            docs.add(json.readTree(line).get("text").asText());
        }
        return docs;
    }

    @Test
    void wordPieceDecodesBackToTheNormalisedText() throws IOException {
        Path out = dir.resolve("wordpiece");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                out.toString(),
                "--type",
                "wordpiece",
                "--lowercase",
                "--vocab-size",
                "4000");
        assertFiles(out);
        BertNormalizer normalizer = new BertNormalizer(true);
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(out.resolve("tokenizer.json"), Map.of())) {
            int lines = 0;
            long tokens = 0;
            for (String doc : lines(prose, 3000)) {
                Encoding enc = tok.encode(doc);
                long[] ids = enc.getIds();
                assertEquals(2, ids[0]);
                assertEquals(3, ids[ids.length - 1]);
                for (long id : ids) {
                    assertTrue(id != 1, "no [UNK] in: " + doc);
                }
                String decoded = tok.decode(ids, true);
                assertEquals(squash(normalizer.normalize(doc)), squash(decoded), doc);
                lines++;
                tokens += ids.length;
            }
            assertEquals(3000, lines);
            assertTrue(tokens > 3000 * 50, "tokens: " + tokens);
        }
    }

    /** Whitespace carries no information after BERT normalisation and WordPiece decoding. */
    private static String squash(String s) {
        return s.replaceAll("\\s+", "");
    }

    @Test
    void byteLevelBpeDecodesBackByteExactly() throws IOException {
        Path out = dir.resolve("bpe");
        ok(
                "train-tokenizer",
                "--input",
                code.toString(),
                "--output",
                out.toString(),
                "--type",
                "bpe",
                "--vocab-size",
                "2000");
        assertFiles(out);
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(out.resolve("tokenizer.json"), Map.of())) {
            for (String doc : lines(code, 3000)) {
                long[] ids = tok.encode(doc).getIds();
                String decoded = tok.decode(ids, false);
                assertEquals(doc, decoded);
                assertTrue(
                        Arrays.equals(
                                doc.getBytes(StandardCharsets.UTF_8),
                                decoded.getBytes(StandardCharsets.UTF_8)));
            }
            // Specials are single tokens with the pinned ids.
            String[] specials = {
                "<|endoftext|>",
                "<pad>",
                "<fim_prefix>",
                "<fim_middle>",
                "<fim_suffix>",
                "<fim_pad>"
            };
            for (int id = 0; id < specials.length; id++) {
                long[] ids = tok.encode("def" + specials[id]).getIds();
                assertEquals(id, ids[ids.length - 1], specials[id]);
            }
        }
    }

    @Test
    void specialTokenIdsArePinnedInTheFiles() throws IOException {
        Path out = dir.resolve("pinned");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                out.toString(),
                "--vocab-size",
                "600");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var tokenizer = json.readTree(out.resolve("tokenizer.json").toFile());
        var vocab = tokenizer.get("model").get("vocab");
        String[] wordpiece = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        for (int id = 0; id < wordpiece.length; id++) {
            assertEquals(id, vocab.get(wordpiece[id]).asInt());
            assertEquals(
                    wordpiece[id], tokenizer.get("added_tokens").get(id).get("content").asText());
        }
        assertEquals(600, vocab.size());
        var map = json.readTree(out.resolve("special_tokens_map.json").toFile());
        assertEquals("[MASK]", map.get("mask_token").asText());
        var config = json.readTree(out.resolve("tokenizer_config.json").toFile());
        assertEquals("BertTokenizer", config.get("tokenizer_class").asText());
        assertFalse(config.get("do_lower_case").asBoolean());
    }

    @Test
    void countingIsDistributedAndTheVocabularyIgnoresPartitioning() throws Exception {
        AtomicInteger tasks = new AtomicInteger();
        SparkListener listener =
                new SparkListener() {
                    @Override
                    public void onTaskEnd(SparkListenerTaskEnd end) {
                        tasks.incrementAndGet();
                    }
                };
        var context = SharedSpark.session().sparkContext();
        context.addSparkListener(listener);
        try {
            Path one = dir.resolve("one");
            Path four = dir.resolve("four");
            ok(
                    "train-tokenizer",
                    "--input",
                    code.toString(),
                    "--output",
                    one.toString(),
                    "--type",
                    "bpe",
                    "--vocab-size",
                    "1500",
                    "--partitions",
                    "1");
            int tasksForOne = drain(tasks, context);
            ok(
                    "train-tokenizer",
                    "--input",
                    code.toString(),
                    "--output",
                    four.toString(),
                    "--type",
                    "bpe",
                    "--vocab-size",
                    "1500",
                    "--partitions",
                    "4");
            int tasksForFour = drain(tasks, context);
            assertTrue(
                    tasksForFour >= tasksForOne + 3,
                    tasksForOne + " vs " + tasksForFour + " tasks");
            assertTrue(tasksForFour > 4, "tasks: " + tasksForFour);
            for (String f :
                    List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
                assertEquals(-1L, Files.mismatch(one.resolve(f), four.resolve(f)), f);
            }
            Path wp1 = dir.resolve("wp1");
            Path wp4 = dir.resolve("wp4");
            ok(
                    "train-tokenizer",
                    "--input",
                    prose.toString(),
                    "--output",
                    wp1.toString(),
                    "--partitions",
                    "1",
                    "--vocab-size",
                    "3000");
            ok(
                    "train-tokenizer",
                    "--input",
                    prose.toString(),
                    "--output",
                    wp4.toString(),
                    "--partitions",
                    "4",
                    "--vocab-size",
                    "3000");
            assertEquals(
                    -1L,
                    Files.mismatch(wp1.resolve("tokenizer.json"), wp4.resolve("tokenizer.json")));
        } finally {
            context.removeSparkListener(listener);
        }
    }

    private static int drain(AtomicInteger tasks, org.apache.spark.SparkContext context)
            throws java.util.concurrent.TimeoutException {
        context.listenerBus().waitUntilEmpty();
        return tasks.getAndSet(0);
    }

    @Test
    void badInputFailsWithOneLineAndWritesNothing() throws IOException {
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n   \n\n");
        Path out = dir.resolve("never");
        CommandLineRun r =
                CommandLineRun.of(
                        "train-tokenizer", "--input", empty.toString(), "--output", out.toString());
        assertEquals(2, r.status());
        assertEquals(1, r.errorLines().size(), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertTrue(r.err().contains("holds no text"), r.err());
        assertFalse(Files.exists(out));

        r =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        prose.toString(),
                        "--output",
                        out.toString(),
                        "--vocab-size",
                        "20");
        assertEquals(2, r.status());
        assertTrue(
                r.err().contains("--vocab-size 20") && r.err().contains("use at least"), r.err());
        assertEquals(
                1, r.errLines().stream().filter(l -> l.startsWith("lmspark")).count(), r.err());
        assertFalse(Files.exists(out));

        r =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        dir.resolve("missing/*.txt").toString(),
                        "--output",
                        out.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("matches no file"), r.err());
        assertFalse(Files.exists(out));

        Path badJson = dir.resolve("bad.jsonl");
        Files.writeString(badJson, "{\"text\": \"fine\"}\nnot json at all\n");
        r =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        badJson.toString(),
                        "--output",
                        out.toString());
        assertEquals(2, r.status());
        assertTrue(
                r.err().contains("bad.jsonl has a line that is not valid JSON: not json at all"),
                r.err());
        assertFalse(Files.exists(out));

        Path existing = dir.resolve("existing");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                existing.toString(),
                "--vocab-size",
                "500");
        byte[] before = Files.readAllBytes(existing.resolve("tokenizer.json"));
        r =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        prose.toString(),
                        "--output",
                        existing.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("already exists") && r.err().contains("--overwrite"), r.err());
        assertTrue(
                java.util.Arrays.equals(
                        before, Files.readAllBytes(existing.resolve("tokenizer.json"))));
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                existing.toString(),
                "--vocab-size",
                "700",
                "--overwrite");
        assertFalse(
                java.util.Arrays.equals(
                        before, Files.readAllBytes(existing.resolve("tokenizer.json"))));
        try (Stream<Path> siblings = Files.list(dir)) {
            assertTrue(
                    siblings.noneMatch(p -> p.getFileName().toString().startsWith(".")),
                    "no leftovers");
        }
    }

    @Test
    void readsLinesParagraphsGzipAndParquet() throws IOException {
        Path lines = dir.resolve("lines.txt.gz");
        try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(lines))) {
            gz.write(
                    "alpha beta gamma\nbeta gamma\n\ngamma delta\n"
                            .getBytes(StandardCharsets.UTF_8));
        }
        Path out = dir.resolve("from-gz");
        ok(
                "train-tokenizer",
                "--input",
                lines.toString(),
                "--output",
                out.toString(),
                "--vocab-size",
                "60",
                "--min-frequency",
                "1");
        String json = Files.readString(out.resolve("tokenizer.json"));
        assertTrue(json.contains("\"gamma\""), "whole words merged from the gzip input");

        Path paragraphs = dir.resolve("paras.txt");
        Files.writeString(paragraphs, "first line\nstill first\n\n\nsecond paragraph\n");
        var conf = SharedSpark.session().sparkContext().hadoopConfiguration();
        var docs =
                new DocumentReader(InputFormat.PARAGRAPHS, List.of("text"))
                        .texts(
                                SharedSpark.session(),
                                InputFiles.list(List.of(paragraphs.toString()), conf))
                        .collect();
        assertEquals(List.of("first line\nstill first", "second paragraph"), docs);

        Path parquet = dir.resolve("table.parquet");
        var spark = SharedSpark.session();
        spark.createDataset(List.of("one two", "three"), org.apache.spark.sql.Encoders.STRING())
                .toDF("body")
                .write()
                .parquet(parquet.toString());
        var fromParquet =
                new DocumentReader(InputFormat.PARQUET, List.of("body"))
                        .texts(spark, InputFiles.list(List.of(parquet.toString()), conf))
                        .collect();
        assertEquals(List.of("one two", "three"), fromParquet.stream().sorted().toList());
        CommandLineRun wrongColumn =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        parquet.toString(),
                        "--output",
                        dir.resolve("x").toString());
        assertTrue(
                wrongColumn.err().contains("snappy.parquet; its columns are body"),
                wrongColumn.err());
    }

    private static void assertFiles(Path out) throws IOException {
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(
                    List.of("special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
