package dev.lmspark.jobs;

import static dev.lmspark.jobs.PrepareFixture.manifest;
import static dev.lmspark.jobs.PrepareFixture.ok;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to {@code prepare}: each ends with one line naming the value and the fix, a non-zero
 * exit, and no output at all — or, where the input is only imperfect, a dataset that counts what
 * was repaired.
 */
@ExtendWith(SharedSpark.class)
class PrepareBadInputTest {
    @TempDir static Path dir;
    static PrepareFixture f;

    @BeforeAll
    static void corpora() {
        f = PrepareFixture.shared();
    }

    private static void refused(String expected, String... args) throws Exception {
        Path out = dir.resolve("out-" + Math.abs(String.join(" ", args).hashCode()));
        List<String> all = new ArrayList<>(List.of("prepare", "--output", out.toString()));
        all.addAll(List.of(args));
        CommandLineRun r = CommandLineRun.of(all.toArray(String[]::new));
        assertTrue(r.status() != 0, "should fail: " + all);
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(
                r.errorLines().get(0).contains(expected),
                "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(out), "no output for " + all);
        try (Stream<Path> siblings = Files.list(dir)) {
            assertTrue(
                    siblings.noneMatch(p -> p.getFileName().toString().startsWith(".out-")),
                    "no leftovers");
        }
    }

    @Test
    void emptyInputAndBlankDocuments() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "");
        refused(
                "holds no documents",
                "--input",
                empty.toString(),
                "--tokenizer",
                f.wordpiece.toString());
        Path blank = dir.resolve("blank.jsonl");
        Files.writeString(blank, "{\"text\": \"   \"}\n\n{\"text\": \"\\n\"}\n");
        refused(
                "holds no documents",
                "--input",
                blank.toString(),
                "--tokenizer",
                f.wordpiece.toString());
        refused(
                "matches no file",
                "--input",
                dir.resolve("nothing-*.txt").toString(),
                "--tokenizer",
                f.wordpiece.toString());
    }

    @Test
    void invalidUtf8IsReplacedAndCounted() throws Exception {
        Path bad = dir.resolve("latin1.txt");
        byte[] latin1 =
                "Caf\u00e9 au lait. Na\u00efve text here.\nSecond document, plain.\n"
                        .getBytes(StandardCharsets.ISO_8859_1);
        Files.write(bad, latin1);
        Path out = dir.resolve("utf8");
        var r =
                ok(
                        "prepare",
                        "--input",
                        bad.toString(),
                        "--tokenizer",
                        f.wordpiece.toString(),
                        "--output",
                        out.toString(),
                        "--validation-fraction",
                        "0",
                        "--max-length",
                        "32");
        assertEquals(
                2, manifest(out).path("statistics").path("invalid_utf8_replacements").asLong());
        // 2 of 53 characters: warned with the count and share.
        assertTrue(
                r.err()
                        .contains(
                                "prepare: warning: --input holds 2 invalid UTF-8 sequence(s),"
                                        + " each read as U+FFFD (3.7736% of 53 characters)"),
                r.err());

        // Above --max-invalid-utf8-fraction: refused, by prepare and train-tokenizer alike.
        refused(
                "2 invalid UTF-8 sequence(s), each read as U+FFFD (3.7736% of 53 characters),"
                        + " above --max-invalid-utf8-fraction 0.01",
                "--input",
                bad.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--max-invalid-utf8-fraction",
                "0.01");
        refused(
                "--max-invalid-utf8-fraction 1.5 must be between 0 and 1",
                "--input",
                bad.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--max-invalid-utf8-fraction",
                "1.5");
        Path tok = dir.resolve("utf8-tokenizer");
        var t =
                dev.lmspark.cli.CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        bad.toString(),
                        "--output",
                        tok.toString(),
                        "--max-invalid-utf8-fraction",
                        "0.01");
        assertEquals(2, t.status(), t.err());
        assertTrue(t.err().contains("above --max-invalid-utf8-fraction 0.01"), t.err());
        assertFalse(Files.exists(tok));
        var warned =
                dev.lmspark.cli.CommandLineRun.of(
                        "train-tokenizer", "--input", bad.toString(), "--output", tok.toString());
        assertEquals(0, warned.status(), warned.err());
        assertTrue(
                warned.err().contains("train-tokenizer: warning: --input holds 2 invalid UTF-8"),
                warned.err());

        // Random bytes as a "text corpus": refused at a sensible threshold.
        Path random = dir.resolve("random.txt");
        byte[] noise = new byte[100_000];
        new java.util.Random(7).nextBytes(noise);
        Files.write(random, noise);
        refused(
                "above --max-invalid-utf8-fraction 0.001",
                "--input",
                random.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--max-invalid-utf8-fraction",
                "0.001");
    }

    @Test
    void documentsLongerThanTheWindowAreSplitAndCounted() throws Exception {
        Path out = dir.resolve("long");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                out.toString(),
                "--objective",
                "clm",
                "--max-length",
                "32",
                "--validation-fraction",
                "0");
        var m = manifest(out);
        long documents = m.path("statistics").path("documents_kept").asLong();
        long longer = m.path("statistics").path("documents_longer_than_window").asLong();
        assertTrue(longer > 0 && longer <= documents, longer + " of " + documents);
        assertEquals("split", m.path("statistics").path("long_documents").asText());
        assertTrue(m.path("num_examples").path("train").asLong() >= documents + longer);
    }

    @Test
    void missingOrUnreadableTokenizer() throws Exception {
        refused(
                "--tokenizer " + dir.resolve("no-such-tokenizer") + " does not exist",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                dir.resolve("no-such-tokenizer").toString());
        Path garbage = dir.resolve("garbage");
        Files.createDirectories(garbage);
        Files.writeString(garbage.resolve("tokenizer.json"), "{\"model\": 42}");
        refused(
                "cannot be loaded",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                garbage.toString());
        Path emptyDir = dir.resolve("empty-tokenizer");
        Files.createDirectories(emptyDir);
        refused(
                "has no tokenizer.json",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                emptyDir.toString());
    }

    @Test
    void maxLengthTooSmallForTheFormat() throws Exception {
        refused(
                "--max-length 4 is too short for [CLS] A [SEP] B [SEP]; use at least 5",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--nsp",
                "--max-length",
                "4");
        refused(
                "--max-length 3 is too short for [CLS] prefix [SEP] target [SEP]; use at least 4",
                "--input",
                f.pairs.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "3");
    }

    @Test
    void fimNeedsTheSentinelsAndMlmNeedsBertTokens() throws Exception {
        refused(
                "needs a tokenizer with <fim_prefix>",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--objective",
                "clm",
                "--fim-rate",
                "0.5");
        refused(
                "needs a WordPiece (BERT) tokenizer",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--objective",
                "mlm");
    }

    @Test
    void nextSentencePairsNeedTwoDocuments() throws Exception {
        Path single = dir.resolve("single.txt");
        Files.writeString(single, "One document. It has sentences. Three of them.\n");
        refused(
                "--nsp needs at least two documents in each split; the train split has 1",
                "--input",
                single.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--nsp",
                "--validation-fraction",
                "0");
    }

    @Test
    void anExistingOutputIsRefusedUnlessOverwriting() throws Exception {
        Path out = dir.resolve("existing");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                out.toString(),
                "--max-length",
                "32");
        byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));
        CommandLineRun r =
                CommandLineRun.of(
                        "prepare",
                        "--input",
                        f.prose.toString(),
                        "--tokenizer",
                        f.wordpiece.toString(),
                        "--output",
                        out.toString(),
                        "--max-length",
                        "48");
        assertEquals(2, r.status());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(
                r.err().contains("already exists; choose another path or add --overwrite"),
                r.err());
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve("manifest.json")));
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                out.toString(),
                "--max-length",
                "48",
                "--overwrite");
        assertEquals(48, manifest(out).path("max_length").asInt());
    }

    @Test
    void aFailingJobLeavesNothingBehind() throws Exception {
        Path bad = dir.resolve("broken.jsonl");
        Files.writeString(bad, "{\"text\": \"fine\"}\nnot json\n");
        refused(
                "broken.jsonl has a line that is not valid JSON",
                "--input",
                bad.toString(),
                "--tokenizer",
                f.wordpiece.toString());
    }
}
