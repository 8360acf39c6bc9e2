package dev.lmspark.jobs;

import static dev.lmspark.jobs.PrepareFixture.bytes;
import static dev.lmspark.jobs.PrepareFixture.ints;
import static dev.lmspark.jobs.PrepareFixture.manifest;
import static dev.lmspark.jobs.PrepareFixture.ok;
import static dev.lmspark.jobs.PrepareFixture.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import dev.lmspark.spark.TokenizerSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code prepare} for every objective on the sample corpora, checked column by column. */
@ExtendWith(SharedSpark.class)
class PrepareJobTest {
    @TempDir static Path dir;
    static PrepareFixture f;

    @BeforeAll
    static void corpora() {
        f = PrepareFixture.shared();
    }

    static final int PAD = 0;
    static final int CLS = 2;
    static final int SEP = 3;
    static final int MASK = 4;

    static StructType expectedSchema(boolean wordStart, boolean nsp, boolean targets) {
        var ints = DataTypes.createArrayType(DataTypes.IntegerType, true);
        var bytes = DataTypes.createArrayType(DataTypes.ByteType, true);
        StructType s =
                new StructType()
                        .add("example_id", DataTypes.LongType)
                        .add("input_ids", ints)
                        .add("attention_mask", bytes)
                        .add("token_type_ids", bytes)
                        .add("labels", ints)
                        .add("special_tokens_mask", bytes);
        if (wordStart) {
            s = s.add("word_start", bytes);
        }
        if (nsp) {
            s = s.add("next_sentence_label", DataTypes.ByteType);
        }
        if (targets) {
            s = s.add("target_ids", ints);
        }
        return s.add("doc_id", DataTypes.LongType);
    }

    private static void assertColumns(Path data, String split, StructType expected) {
        StructType actual =
                SharedSpark.session().read().parquet(data.resolve(split).toString()).schema();
        assertEquals(
                Arrays.asList(expected.fieldNames()), Arrays.asList(actual.fieldNames()), split);
        for (var field : expected.fields()) {
            var a = actual.apply(field.name()).dataType();
            assertTrue(
                    a.sameType(field.dataType())
                            || a.simpleString().equals(field.dataType().simpleString()),
                    field.name() + ": " + a.simpleString());
        }
    }

    /** The contract every split of every dataset keeps. */
    private static void assertCommon(Path data, int maxLength) throws Exception {
        JsonNode m = manifest(data);
        assertEquals(1, m.path("format_version").asInt());
        assertEquals(maxLength, m.path("max_length").asInt());
        assertEquals(42, m.path("seed").asLong());
        for (String field :
                List.of(
                        "objective",
                        "padding_side",
                        "num_examples",
                        "num_tokens",
                        "shards",
                        "config",
                        "tokenizer",
                        "statistics",
                        "provenance",
                        "increments")) {
            assertFalse(m.path(field).isMissingNode(), "manifest lacks " + field);
        }
        String sha =
                TokenizerSource.sha256(
                        Files.readAllBytes(data.resolve("tokenizer/tokenizer.json")));
        assertEquals(sha, m.path("tokenizer").path("sha256").asText());
        for (String k :
                List.of(
                        "pad",
                        "unk",
                        "cls",
                        "sep",
                        "mask",
                        "bos",
                        "eos",
                        "fim_prefix",
                        "fim_middle",
                        "fim_suffix",
                        "fim_pad")) {
            assertTrue(m.path("tokenizer").path("special_token_ids").has(k), k);
        }
        JsonNode prov = m.path("provenance");
        assertFalse(prov.path("lmspark_version").asText().isEmpty());
        JsonNode input = m.path("increments").get(0).path("files").get(0);
        assertEquals(64, input.path("sha256").asText().length());
        assertTrue(
                input.path("bytes").asLong() > 0 && input.path("modification_time").asLong() > 0);
        m.path("num_examples")
                .fields()
                .forEachRemaining(
                        e -> {
                            List<Row> rows = rows(data, e.getKey());
                            assertEquals(e.getValue().asLong(), rows.size(), e.getKey());
                            long tokens = 0;
                            for (int i = 0; i < rows.size(); i++) {
                                Row r = rows.get(i);
                                assertEquals(i, r.getLong(0), "example_id is dense and 0-based");
                                byte[] attention = bytes(r, "attention_mask");
                                for (String col : List.of("input_ids", "labels")) {
                                    assertEquals(maxLength, ints(r, col).length, col);
                                }
                                for (String col :
                                        List.of(
                                                "attention_mask",
                                                "token_type_ids",
                                                "special_tokens_mask")) {
                                    assertEquals(maxLength, bytes(r, col).length, col);
                                }
                                int[] labels = ints(r, "labels");
                                byte[] special = bytes(r, "special_tokens_mask");
                                for (int k = 0; k < maxLength; k++) {
                                    tokens += attention[k];
                                    if (attention[k] == 0) {
                                        assertEquals(-100, labels[k], "padding has no label");
                                        assertEquals(1, special[k], "padding is special");
                                    }
                                }
                            }
                            assertEquals(
                                    m.path("num_tokens").path(e.getKey()).asLong(),
                                    tokens,
                                    e.getKey() + " tokens");
                        });
        long shardRows = 0;
        for (JsonNode s : m.path("shards")) {
            Path file = data.resolve(s.path("path").asText());
            assertEquals(s.path("bytes").asLong(), Files.size(file));
            assertEquals(
                    s.path("sha256").asText(), TokenizerSource.sha256(Files.readAllBytes(file)));
            shardRows += s.path("rows").asLong();
        }
        long total = 0;
        for (var it = m.path("num_examples").elements(); it.hasNext(); ) {
            total += it.next().asLong();
        }
        assertEquals(total, shardRows);
        CommandLineRun verify = CommandLineRun.of("verify", "--data", data.toString());
        assertEquals(0, verify.status(), verify.err());
    }

    @Test
    void mlmWithNextSentencePairs() throws Exception {
        Path data = dir.resolve("mlm-nsp");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--nsp",
                "--max-length",
                "64",
                "--shards",
                "3",
                "--validation-fraction",
                "0.05");
        assertCommon(data, 64);
        assertColumns(data, "train", expectedSchema(true, true, false));
        assertColumns(data, "validation", expectedSchema(true, true, false));
        assertEquals(
                3, manifest(data).path("shards").size() - 1, "3 train shards + 1 validation shard");
        long random = 0;
        List<Row> train = rows(data, "train");
        for (Row r : train) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            byte[] types = bytes(r, "token_type_ids");
            byte[] attention = bytes(r, "attention_mask");
            byte[] special = bytes(r, "special_tokens_mask");
            int n = 0;
            while (n < ids.length && attention[n] == 1) {
                n++;
            }
            assertEquals(CLS, ids[0]);
            assertEquals(SEP, ids[n - 1]);
            int firstSep = -1;
            int seps = 0;
            for (int i = 0; i < n; i++) {
                int original = labels[i] == -100 ? ids[i] : labels[i];
                if (original == SEP) {
                    seps++;
                    if (firstSep < 0) {
                        firstSep = i;
                    }
                }
            }
            assertEquals(2, seps, "[CLS] A [SEP] B [SEP]");
            assertTrue(firstSep > 1 && firstSep < n - 2, "A and B are not empty");
            for (int i = 0; i < n; i++) {
                assertEquals(i <= firstSep ? 0 : 1, types[i], "segment id at " + i);
                if (labels[i] != -100) {
                    assertEquals(0, special[i], "specials are never predicted");
                } else {
                    assertTrue(ids[i] != MASK, "[MASK] only where a label is");
                }
                if (labels[i] != -100 && ids[i] != MASK && ids[i] != labels[i]) {
                    assertTrue(ids[i] > 4, "random replacements are never special");
                }
            }
            random += r.getByte(r.fieldIndex("next_sentence_label"));
        }
        double share = (double) random / train.size();
        assertTrue(share > 0.4 && share < 0.75, "random-B share " + share);
        JsonNode stats = manifest(data).path("statistics").path("splits").path("train");
        assertEquals(share, stats.path("nsp_random_fraction").asDouble(), 1e-12);
        assertEquals(0.15, stats.path("mask_rate").asDouble(), 0.01);
    }

    @Test
    void mlmWithoutNextSentencePairsPacksSentences() throws Exception {
        Path data = dir.resolve("mlm");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--max-length",
                "48",
                "--whole-word-mask");
        assertCommon(data, 48);
        assertColumns(data, "train", expectedSchema(true, false, false));
        for (Row r : rows(data, "train")) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            byte[] words = bytes(r, "word_start");
            byte[] attention = bytes(r, "attention_mask");
            assertEquals(CLS, ids[0]);
            for (byte t : bytes(r, "token_type_ids")) {
                assertEquals(0, t);
            }
            // Whole words: a predicted continuation token's word start is predicted too.
            for (int i = 1; i < ids.length; i++) {
                if (attention[i] == 1 && words[i] == 0 && labels[i] != -100) {
                    int start = i;
                    while (words[start] == 0) {
                        start--;
                    }
                    for (int k = start; k <= i; k++) {
                        assertTrue(labels[k] != -100, "whole word at " + start + ".." + i);
                    }
                }
            }
        }
    }

    @Test
    void fixedCountMasksExactlyTheBertCount() throws Exception {
        Path data = dir.resolve("fixed");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--max-length",
                "64",
                "--masking",
                "fixed-count",
                "--max-predictions",
                "8");
        for (Row r : rows(data, "train")) {
            byte[] special = bytes(r, "special_tokens_mask");
            int candidates = 0;
            for (byte b : special) {
                candidates += b == 0 ? 1 : 0;
            }
            int predicted = (int) Arrays.stream(ints(r, "labels")).filter(l -> l != -100).count();
            assertEquals(Math.min(8, Math.max(1, (int) Math.rint(candidates * 0.15))), predicted);
        }
    }

    @Test
    void clmPackedWindowsAreFullAndLabelledByTheAttentionMask() throws Exception {
        Path data = dir.resolve("clm");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                data.toString(),
                "--objective",
                "clm",
                "--pack",
                "--max-length",
                "64");
        assertCommon(data, 64);
        assertColumns(data, "train", expectedSchema(false, false, false));
        int partial = 0;
        long eos = 0;
        for (Row r : rows(data, "train")) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            byte[] attention = bytes(r, "attention_mask");
            for (int i = 0; i < ids.length; i++) {
                assertEquals(attention[i] == 1 ? ids[i] : -100, labels[i]);
                eos += attention[i] == 1 && ids[i] == 0 ? 1 : 0;
            }
            partial += attention[ids.length - 1] == 0 ? 1 : 0;
        }
        assertTrue(partial <= 1, "only the last window of a split is short: " + partial);
        assertEquals(
                manifest(data)
                        .path("statistics")
                        .path("documents_per_split")
                        .path("train")
                        .asLong(),
                eos,
                "an EOS after every document");
    }

    @Test
    void documentLevelFimUnpermutesToTheSourceTextExactly() throws Exception {
        Path data = dir.resolve("fim-doc");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                data.toString(),
                "--objective",
                "clm",
                "--fim-rate",
                "1",
                "--fim-spm-rate",
                "0.5",
                "--max-length",
                "2048",
                "--validation-fraction",
                "0");
        assertCommon(data, 2048);
        List<String> sources = PrepareFixture.documents(f.code, "text");
        List<Row> rows = rows(data, "train");
        assertEquals(
                sources.size(),
                rows.size(),
                "one example per document, none longer than the window");
        int spm = 0;
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(
                        f.bpe.resolve("tokenizer.json"), Map.of("addSpecialTokens", "false"))) {
            for (Row r : rows) {
                int[] ids = ints(r, "input_ids");
                byte[] attention = bytes(r, "attention_mask");
                int n = 0;
                while (n < ids.length && attention[n] == 1) {
                    n++;
                }
                assertEquals(2, ids[0], "<fim_prefix> first");
                assertEquals(0, ids[n - 1], "EOS last");
                int suffix = indexOf(ids, 4, n);
                int middle = indexOf(ids, 3, n);
                String text;
                if (suffix == 1) {
                    spm++;
                    text = decode(tok, ids, middle + 1, n - 1) + decode(tok, ids, 2, middle);
                } else {
                    text =
                            decode(tok, ids, 1, suffix)
                                    + decode(tok, ids, middle + 1, n - 1)
                                    + decode(tok, ids, suffix + 1, middle);
                }
                assertEquals(sources.get((int) r.getLong(r.fieldIndex("doc_id"))), text);
            }
        }
        assertTrue(
                spm > rows.size() / 3 && spm < rows.size() * 2 / 3,
                "SPM share: " + spm + "/" + rows.size());
    }

    private static int indexOf(int[] ids, int id, int n) {
        for (int i = 0; i < n; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        throw new AssertionError("no id " + id + " in " + Arrays.toString(Arrays.copyOf(ids, n)));
    }

    private static String decode(HuggingFaceTokenizer tok, int[] ids, int from, int to) {
        return tok.decode(
                Arrays.stream(Arrays.copyOfRange(ids, from, to)).asLongStream().toArray(), false);
    }

    @Test
    void contextLevelFimKeepsEveryWindowsLength() throws Exception {
        Path data = dir.resolve("fim-context");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                data.toString(),
                "--objective",
                "clm",
                "--pack",
                "--fim-rate",
                "0.5",
                "--fim-level",
                "context",
                "--max-length",
                "96");
        assertCommon(data, 96);
        int fim = 0;
        int partial = 0;
        for (Row r : rows(data, "train")) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            byte[] attention = bytes(r, "attention_mask");
            partial += attention[ids.length - 1] == 0 ? 1 : 0;
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == 5 && attention[i] == 1) {
                    assertEquals(-100, labels[i], "<fim_pad> is never a label");
                } else if (attention[i] == 1) {
                    assertEquals(ids[i], labels[i]);
                }
                fim += ids[i] == 2 ? 1 : 0;
            }
        }
        assertTrue(partial <= 1);
        assertTrue(fim > 0);
        JsonNode stats = manifest(data).path("statistics").path("splits").path("train");
        assertEquals(fim, stats.path("fim_segments").asLong());
        assertTrue(stats.path("fim_rate").asDouble() > 0.2, stats.toString());
    }

    @Test
    void seq2seqRowsAndLeftPaddedPredictionRows() throws Exception {
        Path data = dir.resolve("seq2seq");
        ok(
                "prepare",
                "--input",
                f.pairs.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "48",
                "--validation-fraction",
                "0.2");
        assertCommon(data, 48);
        assertColumns(data, "train", expectedSchema(false, false, false));
        assertColumns(data, "predict", expectedSchema(false, false, true));
        JsonNode m = manifest(data);
        assertEquals("left", m.path("padding_side").path("predict").asText());
        assertEquals(
                m.path("num_examples").path("validation").asLong(),
                m.path("num_examples").path("predict").asLong());
        for (Row r : rows(data, "train")) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            int firstSep = indexOf(ids, SEP, ids.length);
            int masked = 0;
            for (int i = 0; i < ids.length; i++) {
                if (labels[i] != -100) {
                    assertTrue(i > firstSep, "only the target is masked");
                    assertEquals(MASK, ids[i]);
                    masked++;
                }
            }
            assertTrue(masked >= 1);
        }
        for (Row r : rows(data, "predict")) {
            int[] ids = ints(r, "input_ids");
            byte[] attention = bytes(r, "attention_mask");
            int first = 0;
            while (attention[first] == 0) {
                first++;
            }
            for (int i = first; i < ids.length; i++) {
                assertEquals(1, attention[i], "left padding: one block of real tokens at the end");
            }
            assertEquals(CLS, ids[first]);
            assertEquals(SEP, ids[ids.length - 1], "every prefix ends at the same position");
            assertTrue(Arrays.stream(ints(r, "labels")).allMatch(l -> l == -100));
            int[] target = ints(r, "target_ids");
            assertNotNull(target);
            int end = indexOf(target, SEP, target.length);
            assertTrue(end > 0);
            for (int i = end + 1; i < target.length; i++) {
                assertEquals(PAD, target[i]);
            }
        }
    }

    @Test
    void dedupAndMinCharsDropDocumentsAndCountThem() throws Exception {
        Path input = dir.resolve("dups.txt");
        Files.writeString(
                input,
                String.join(
                                "\n",
                                "The first document has several words in it.",
                                "the  FIRST document has several words in it.",
                                "Tiny.",
                                "The first document has several words in it.",
                                "Another document, different from the first one.")
                        + "\n");
        Path data = dir.resolve("dedup");
        ok(
                "prepare",
                "--input",
                input.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--dedup",
                "--min-chars",
                "10",
                "--validation-fraction",
                "0",
                "--max-length",
                "32");
        JsonNode st = manifest(data).path("statistics");
        assertEquals(5, st.path("documents_read").asLong());
        assertEquals(2, st.path("documents_kept").asLong());
        assertEquals(1, st.path("documents_dropped_min_chars").asLong());
        assertEquals(2, st.path("documents_dropped_duplicates").asLong());
        assertEquals(
                List.of(0L, 4L),
                rows(data, "train").stream()
                        .map(r -> r.getLong(r.fieldIndex("doc_id")))
                        .sorted()
                        .toList(),
                "the first copy is kept");
    }

    @Test
    void inspectShowsTokensLabelsAndSegments() throws Exception {
        Path data = dir.resolve("inspect");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--nsp",
                "--max-length",
                "48");
        CommandLineRun r = CommandLineRun.of("inspect", "--data", data.toString(), "--rows", "2");
        assertEquals(0, r.status(), r.err());
        assertEquals(
                2, r.out().lines().filter(l -> l.startsWith("train example ")).count(), r.out());
        assertTrue(r.out().contains("next_sentence_label"), r.out());
        assertTrue(r.out().contains("  text: [CLS] "), r.out());
        assertTrue(
                r.out()
                        .lines()
                        .anyMatch(
                                l -> l.matches("\\s+\\d+\\s+\\[MASK\\]\\s+4\\s+\\S+ \\(\\d+\\).*")),
                "a masked position shows its label: " + r.out());
        CommandLineRun bad =
                CommandLineRun.of("inspect", "--data", data.toString(), "--split", "test");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--split test is not in"), bad.err());
    }

    @Test
    void stagesComposeInASavedAndReloadedPipeline() throws Exception {
        var spark = SharedSpark.session();
        PrepareConfig c =
                PrepareConfig.builder()
                        .setInputs(List.of(f.code.toString()))
                        .setTokenizer(f.bpe.toString())
                        .setOutput(dir.resolve("unused").toString())
                        .optObjective(PrepareConfig.Objective.CLM)
                        .optMaxLength(64)
                        .optShards(2)
                        .optValidationFraction(0.1)
                        .optPack(true)
                        .optFim(0.5, 0.5, PrepareConfig.FimLevel.CONTEXT)
                        .build();
        var pipeline = PreparePipeline.pipeline(c, f.bpe.toString());
        Path saved = dir.resolve("pipeline");
        pipeline.write().overwrite().save(saved.toString());
        var loaded = org.apache.spark.ml.Pipeline.load(saved.toString());
        assertEquals(pipeline.getStages().length, loaded.getStages().length);
        for (int i = 0; i < loaded.getStages().length; i++) {
            assertEquals(pipeline.getStages()[i].getClass(), loaded.getStages()[i].getClass());
            assertEquals(
                    pipeline.getStages()[i].extractParamMap().toString(),
                    loaded.getStages()[i]
                            .extractParamMap()
                            .toString()
                            .replace(loaded.getStages()[i].uid(), pipeline.getStages()[i].uid()));
        }
        var docs =
                spark.createDataFrame(
                        List.of(
                                org.apache.spark.sql.RowFactory.create(
                                        0L, "def f(x):\n    return x\n", "train"),
                                org.apache.spark.sql.RowFactory.create(
                                        1L, "def g(y):\n    return y * 2\n", "train")),
                        new StructType()
                                .add("doc_id", DataTypes.LongType)
                                .add("text", DataTypes.StringType)
                                .add("split", DataTypes.StringType));
        List<Row> out = loaded.fit(docs).transform(docs).collectAsList();
        assertEquals(1, out.size(), "two short documents pack into one window");
        // Schemas are checked before any data moves.
        var wrong = spark.range(3).toDF("text");
        var e =
                org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                new dev.lmspark.spark.ml.TokenizeStage()
                                        .setTokenizer(f.bpe.toString())
                                        .transformSchema(wrong.schema()));
        assertTrue(e.getMessage().contains("column 'text' is bigint"), e.getMessage());
    }
}
