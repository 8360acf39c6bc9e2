package dev.lmspark.spark.data;

import static dev.lmspark.jobs.PrepareFixture.bytes;
import static dev.lmspark.jobs.PrepareFixture.ints;
import static dev.lmspark.jobs.PrepareFixture.manifest;
import static dev.lmspark.jobs.PrepareFixture.ok;
import static dev.lmspark.jobs.PrepareFixture.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.jobs.PrepareFixture;
import dev.lmspark.spark.SharedSpark;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PreparedDataset} and {@link ExampleReader} on real datasets made by {@code prepare}: every
 * column equals what Spark's own Parquet reader returns, ranges span shards and row groups, the
 * cache reads each row group once, and broken datasets fail naming the file.
 */
@ExtendWith(SharedSpark.class)
class ExampleReaderTest {
    @TempDir static Path dir;
    static PrepareFixture f;
    static Path mlm;
    static Path clm;
    static Path seq2seq;
    static final Configuration CONF = new Configuration();

    @BeforeAll
    static void datasets() {
        f = PrepareFixture.shared();
        mlm = dir.resolve("mlm-nsp");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                mlm.toString(),
                "--nsp",
                "--max-length",
                "32",
                "--shards",
                "3",
                "--validation-fraction",
                "0.05");
        clm = dir.resolve("clm-fim");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                clm.toString(),
                "--objective",
                "clm",
                "--pack",
                "--fim-rate",
                "0.5",
                "--max-length",
                "32",
                "--shards",
                "2");
        seq2seq = dir.resolve("seq2seq");
        ok(
                "prepare",
                "--input",
                f.pairs.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                seq2seq.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "48",
                "--validation-fraction",
                "0.1");
    }

    private static PreparedDataset open(Path data) {
        return PreparedDataset.open(data.toString(), CONF);
    }

    /** Reads a whole split in ranges of {@code step} rows, through {@code cached} row groups. */
    private static Examples readAll(PreparedDataset d, String split, int step, int cached)
            throws IOException {
        List<Examples> parts = new ArrayList<>();
        try (ExampleReader r = new ExampleReader(d, split, CONF, cached)) {
            for (long id = 0; id < r.numExamples(); id += step) {
                parts.add(r.read(id, Math.min(r.numExamples(), id + step)));
            }
        }
        return Examples.concat(parts);
    }

    /** Every column of every row equals Spark's reading of the same split. */
    private static void assertSameAsSpark(Path data, String split) throws IOException {
        PreparedDataset d = open(data);
        List<Row> expected = rows(data, split);
        Examples e = readAll(d, split, 97, 2);
        int len = d.maxLength();
        assertEquals(expected.size(), e.rows(), split);
        assertEquals(len, e.length());
        List<String> sparkColumns = Arrays.asList(expected.get(0).schema().fieldNames());
        assertEquals(d.columns(split), sparkColumns, "the columns the contract names");
        assertEquals(sparkColumns.contains("word_start"), e.wordStart() != null);
        assertEquals(sparkColumns.contains("next_sentence_label"), e.nextSentenceLabel() != null);
        assertEquals(sparkColumns.contains("target_ids"), e.targetIds() != null);
        for (int i = 0; i < expected.size(); i++) {
            Row r = expected.get(i);
            String at = data.getFileName() + " " + split + " row " + i;
            assertEquals(r.getLong(r.fieldIndex("example_id")), e.exampleId()[i], at);
            assertEquals(r.getLong(r.fieldIndex("doc_id")), e.docId()[i], at);
            assertArrayEquals(ints(r, "input_ids"), Examples.row(e.inputIds(), i, len), at);
            assertArrayEquals(ints(r, "labels"), Examples.row(e.labels(), i, len), at);
            assertArrayEquals(
                    bytes(r, "attention_mask"), Examples.row(e.attentionMask(), i, len), at);
            assertArrayEquals(
                    bytes(r, "token_type_ids"), Examples.row(e.tokenTypeIds(), i, len), at);
            assertArrayEquals(
                    bytes(r, "special_tokens_mask"),
                    Examples.row(e.specialTokensMask(), i, len),
                    at);
            if (e.wordStart() != null) {
                assertArrayEquals(bytes(r, "word_start"), Examples.row(e.wordStart(), i, len), at);
            }
            if (e.nextSentenceLabel() != null) {
                assertEquals(
                        r.getByte(r.fieldIndex("next_sentence_label")),
                        e.nextSentenceLabel()[i],
                        at);
            }
            if (e.targetIds() != null) {
                assertArrayEquals(ints(r, "target_ids"), Examples.row(e.targetIds(), i, len), at);
            }
        }
    }

    @Test
    void mlmWithNspReadsAsSparkReadsIt() throws Exception {
        PreparedDataset d = open(mlm);
        assertTrue(d.shards("train").size() == 3 && d.numExamples("train") > 2 * 1024);
        for (String split : d.splits()) {
            assertSameAsSpark(mlm, split);
        }
    }

    @Test
    void clmWithFimReadsAsSparkReadsIt() throws Exception {
        for (String split : open(clm).splits()) {
            assertSameAsSpark(clm, split);
        }
    }

    @Test
    void seq2seqPredictRowsCarryTargets() throws Exception {
        PreparedDataset d = open(seq2seq);
        assertEquals(List.of("train", "validation", "predict"), d.splits());
        assertTrue(d.hasTargetIds("predict") && !d.hasTargetIds("train"));
        for (String split : d.splits()) {
            assertSameAsSpark(seq2seq, split);
        }
    }

    @Test
    void rangesSpanShardsAndRowGroups() throws Exception {
        PreparedDataset d = open(mlm);
        Examples all = readAll(d, "train", 1 << 20, 0);
        int n = all.rows();
        List<PreparedDataset.Shard> shards = d.shards("train");
        long boundary = shards.get(1).firstExampleId();
        List<long[]> ranges = new ArrayList<>();
        ranges.add(new long[] {boundary - 3, boundary + 3}); // across a shard boundary
        ranges.add(new long[] {1020, 1030}); // across a row-group boundary in shard 0
        ranges.add(new long[] {boundary + 1020, boundary + 1030}); // … in shard 1
        ranges.add(new long[] {0, n}); // everything, all shards at once
        ranges.add(new long[] {n - 1, n});
        ranges.add(new long[] {5, 5});
        Random random = new Random(7);
        for (int i = 0; i < 40; i++) {
            long from = random.nextInt(n);
            ranges.add(new long[] {from, Math.min(n, from + 1 + random.nextInt(2500))});
        }
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 3)) {
            for (long[] range : ranges) {
                Examples got = r.read(range[0], range[1]);
                assertEquals(
                        all.slice((int) range[0], (int) range[1]),
                        got,
                        "[" + range[0] + ", " + range[1] + ")");
                for (int k = 0; k < got.rows(); k++) {
                    assertEquals(range[0] + k, got.exampleId()[k]);
                }
            }
            assertThrows(IndexOutOfBoundsException.class, () -> r.read(n - 1, n + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> r.read(-1, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> r.read(4, 3));
        }
        // slice and concat are inverse.
        Examples a = all.slice(0, 700);
        Examples b = all.slice(700, n);
        assertEquals(all, Examples.concat(a, b));
        assertEquals(0, all.slice(3, 3).rows());
    }

    /** Column-chunk bytes of every row group, and footer bytes, of a split's shards. */
    private static long[] parquetBytes(PreparedDataset d, String split) throws IOException {
        long chunks = 0;
        long footers = 0;
        long groups = 0;
        for (PreparedDataset.Shard s : d.shards(split)) {
            var path = d.file(s);
            try (ParquetFileReader r =
                    ParquetFileReader.open(HadoopInputFile.fromPath(path, CONF))) {
                for (BlockMetaData b : r.getFooter().getBlocks()) {
                    groups++;
                    for (ColumnChunkMetaData c : b.getColumns()) {
                        chunks += c.getTotalSize();
                    }
                }
            }
            try (RandomAccessFile file =
                    new RandomAccessFile(new java.io.File(path.toUri()), "r")) {
                file.seek(file.length() - 8);
                int length = Integer.reverseBytes(file.readInt());
                footers += length + 8; // the footer, its length and the magic number
            }
        }
        return new long[] {chunks, footers, groups};
    }

    @Test
    void consecutiveSmallRangesReadEachRowGroupOnce() throws Exception {
        PreparedDataset d = open(mlm);
        long[] expected = parquetBytes(d, "train");
        assertTrue(expected[2] >= 6, "several row groups: " + expected[2]);
        long n = d.numExamples("train");
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            for (long id = 0; id < n; id += 16) {
                r.read(id, Math.min(n, id + 16));
            }
            assertEquals(expected[2], r.rowGroupsDecoded());
            assertEquals(expected[0] + expected[1], r.bytesRead(), "chunks + footers, once");
        }
        // Without a cache, every small range decodes its row group again.
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 0)) {
            for (long id = 0; id < 256; id += 16) {
                r.read(id, id + 16);
            }
            assertEquals(16, r.rowGroupsDecoded());
        }
        // A small range reads one row group of one shard, not the split.
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            r.read(n - 10, n - 5);
            assertEquals(1, r.rowGroupsDecoded());
            assertTrue(
                    r.bytesRead() < (expected[0] + expected[1]) / 4,
                    r.bytesRead() + " of " + (expected[0] + expected[1]));
        }
    }

    @Test
    void theManifestAsAccessors() throws Exception {
        PreparedDataset d = open(mlm);
        JsonNode m = manifest(mlm);
        assertEquals("file:" + mlm.toAbsolutePath(), d.root());
        assertEquals("mlm", d.objective());
        assertEquals(32, d.maxLength());
        assertEquals(42, d.seed());
        assertEquals(List.of("train", "validation"), d.splits());
        for (String split : d.splits()) {
            assertEquals(m.path("num_examples").path(split).asLong(), d.numExamples(split));
            assertEquals(m.path("num_tokens").path(split).asLong(), d.numTokens(split));
            assertEquals("right", d.paddingSide(split));
            long next = 0;
            for (PreparedDataset.Shard s : d.shards(split)) {
                assertEquals(next, s.firstExampleId(), "ordered and contiguous");
                assertEquals(Files.size(mlm.resolve(s.path())), s.bytes());
                assertEquals(64, s.sha256().length());
                next += s.rows();
            }
            assertEquals(d.numExamples(split), next);
        }
        assertEquals(m.path("shards").size(), d.shards().size());
        assertTrue(d.hasNsp() && d.hasWordStart());
        assertEquals(
                new MaskingConfig(
                        MaskingConfig.Strategy.BERNOULLI,
                        0.15,
                        0.8,
                        0.1,
                        m.path("config").path("max_predictions").asInt(),
                        false),
                d.masking());
        assertEquals(m.path("tokenizer").path("vocab_size").asInt(), d.vocabSize());
        assertTrue(d.vocabSize() > 1000);
        assertEquals(4, d.specialTokenIds().mask());
        assertEquals(0, d.specialTokenIds().pad());
        assertNull(d.specialTokenIds().fimPrefix());
        assertEquals("WordPiece", d.tokenizerType());
        assertEquals(m.path("tokenizer").path("sha256").asText(), d.tokenizerSha256());
        assertTrue(
                Files.exists(
                        Path.of(java.net.URI.create(d.tokenizerPath())).resolve("tokenizer.json")));
        assertEquals(m, d.manifest());
        BadInputException e = assertThrows(BadInputException.class, () -> d.numExamples("test"));
        assertTrue(e.getMessage().contains("split test is not in"), e.getMessage());

        PreparedDataset c = open(clm);
        assertFalse(c.hasNsp() || c.hasWordStart());
        assertNull(c.masking(), "masking applies to mlm");
        assertTrue(c.specialTokenIds().hasFim());
        assertEquals(
                List.of(
                        "example_id",
                        "input_ids",
                        "attention_mask",
                        "token_type_ids",
                        "labels",
                        "special_tokens_mask",
                        "doc_id"),
                c.columns("train"));
        assertEquals("left", open(seq2seq).paddingSide("predict"));

        // It travels to executors by Java serialization, manifest included.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(d);
        }
        PreparedDataset back;
        try (ObjectInputStream in =
                new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (PreparedDataset) in.readObject();
        }
        assertEquals(d.shards("train"), back.shards("train"));
        assertEquals(d.masking(), back.masking());
        assertEquals(d.specialTokenIds(), back.specialTokenIds());
        assertEquals(m, back.manifest());
        try (ExampleReader r = new ExampleReader(back, "validation", CONF, 1)) {
            assertEquals(readAll(d, "validation", 50, 1), r.read(0, r.numExamples()));
        }
    }

    /** A copy of {@code data} to break. */
    private static Path copy(Path data, String name) throws IOException {
        Path to = dir.resolve(name);
        try (Stream<Path> files = Files.walk(data)) {
            for (Path p : files.sorted(Comparator.naturalOrder()).toList()) {
                Path target = to.resolve(data.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }

    @Test
    void badManifestsAreRefusedNamingTheFix() throws Exception {
        Path empty = dir.resolve("not-a-dataset");
        Files.createDirectories(empty);
        BadInputException e = assertThrows(BadInputException.class, () -> open(empty));
        assertTrue(e.getMessage().contains("not-a-dataset has no manifest.json"), e.getMessage());

        Path newer = copy(clm, "newer");
        ObjectMapper json = new ObjectMapper();
        ObjectNode m = (ObjectNode) manifest(newer);
        m.put("format_version", 2);
        Files.writeString(newer.resolve("manifest.json"), json.writeValueAsString(m));
        e = assertThrows(BadInputException.class, () -> open(newer));
        assertTrue(
                e.getMessage().contains("format_version found 2, this lmspark reads up to 1"),
                e.getMessage());
        assertTrue(e.getMessage().contains("newer/manifest.json"), e.getMessage());

        Files.writeString(newer.resolve("manifest.json"), "{\"format_version\": 1, \"shards\": [");
        e = assertThrows(BadInputException.class, () -> open(newer));
        assertTrue(e.getMessage().contains("manifest.json is not valid JSON"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());

        m.put("format_version", 1);
        m.remove("max_length");
        Files.writeString(newer.resolve("manifest.json"), json.writeValueAsString(m));
        e = assertThrows(BadInputException.class, () -> open(newer));
        assertTrue(e.getMessage().contains("'max_length' is missing"), e.getMessage());

        // verify and inspect report the same one line.
        var r = dev.lmspark.cli.CommandLineRun.of("inspect", "--data", empty.toString());
        assertEquals(2, r.status(), "bad input");
        assertTrue(r.err().contains("has no manifest.json"), r.err());
    }

    @Test
    void aMissingOrBrokenShardIsAnErrorNamingTheFile() throws Exception {
        Path data = copy(clm, "broken");
        PreparedDataset d = open(data);
        long boundary = d.shards("train").get(1).firstExampleId();
        Files.delete(data.resolve("train/part-00001.parquet"));
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            assertEquals(10, r.read(0, 10).rows(), "the shards that are there still read");
            IOException e =
                    assertThrows(IOException.class, () -> r.read(boundary - 1, boundary + 1));
            assertTrue(
                    e.getMessage().contains("train/part-00001.parquet is missing"), e.getMessage());
        }

        Files.write(data.resolve("train/part-00001.parquet"), "not parquet".getBytes());
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            IOException e = assertThrows(IOException.class, () -> r.read(boundary, boundary + 1));
            assertTrue(
                    e.getMessage().contains("train/part-00001.parquet is not a readable Parquet"),
                    e.getMessage());
        }

        // inspect reads through ExampleReader: one line naming the file.
        Files.delete(data.resolve("validation/part-00000.parquet"));
        var inspect =
                dev.lmspark.cli.CommandLineRun.of(
                        "inspect", "--data", data.toString(), "--split", "validation");
        assertEquals(2, inspect.status(), "bad input");
        assertEquals(1, inspect.errorLines().size(), inspect.err());
        assertTrue(
                inspect.err().contains("validation/part-00000.parquet is missing"), inspect.err());

        // A flipped byte in a data page: the page checksum (or the decoder) catches it.
        Path shard = data.resolve("train/part-00000.parquet");
        byte[] bytes = Files.readAllBytes(shard);
        bytes[bytes.length / 3] ^= 0x10;
        Files.write(shard, bytes);
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            IOException e = assertThrows(IOException.class, () -> r.read(0, boundary));
            assertTrue(e.getMessage().contains("train/part-00000.parquet"), e.getMessage());
        }
    }

    @Test
    void aShardThatDoesNotMatchItsManifestEntryIsRefused() throws Exception {
        Path data = copy(clm, "shifted");
        PreparedDataset d = open(data);
        // Same rows and row groups, example_ids off by one.
        Path rewritten = dir.resolve("shifted-rewrite");
        SharedSpark.session()
                .read()
                .parquet(data.resolve("validation/part-00000.parquet").toString())
                .withColumn("example_id", functions.col("example_id").plus(1))
                .coalesce(1)
                .write()
                .option("parquet.block.row.count.limit", "1024")
                .parquet(rewritten.toString());
        Path part;
        try (Stream<Path> files = Files.list(rewritten)) {
            part =
                    files.filter(p -> p.getFileName().toString().endsWith(".parquet"))
                            .findFirst()
                            .orElseThrow();
        }
        Files.copy(
                part,
                data.resolve("validation/part-00000.parquet"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (ExampleReader r = new ExampleReader(d, "validation", CONF, 2)) {
            IOException e = assertThrows(IOException.class, () -> r.read(0, 1));
            assertTrue(
                    e.getMessage().contains("validation/part-00000.parquet")
                            && e.getMessage()
                                    .contains("has example_id 1 where the manifest implies 0"),
                    e.getMessage());
        }

        // A shard with one row fewer than its manifest entry.
        Path shorter = dir.resolve("shorter-rewrite");
        long rows = d.shards("train").get(1).rows();
        SharedSpark.session()
                .read()
                .parquet(data.resolve("train/part-00001.parquet").toString())
                .orderBy("example_id")
                .limit((int) rows - 1)
                .coalesce(1)
                .write()
                .parquet(shorter.toString());
        try (Stream<Path> files = Files.list(shorter)) {
            part =
                    files.filter(p -> p.getFileName().toString().endsWith(".parquet"))
                            .findFirst()
                            .orElseThrow();
        }
        Files.copy(
                part,
                data.resolve("train/part-00001.parquet"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        long boundary = d.shards("train").get(1).firstExampleId();
        try (ExampleReader r = new ExampleReader(d, "train", CONF, 2)) {
            IOException e = assertThrows(IOException.class, () -> r.read(boundary, boundary + 1));
            assertTrue(
                    e.getMessage()
                            .contains(
                                    "train/part-00001.parquet has "
                                            + (rows - 1)
                                            + " rows, manifest.json says "
                                            + rows),
                    e.getMessage());
        }
    }
}
