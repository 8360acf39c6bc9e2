package dev.lmspark.jobs;

import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.util.SerializableConfiguration;

/**
 * {@code verify --data}: re-reads a prepared dataset and checks it against its manifest — every
 * shard's size, SHA-256 and row count (from the Parquet footer, with row groups of at most 1024
 * rows), per-split example totals, the tokenizer copy's hash, and no shard file the manifest does
 * not list; each shard's columns against the manifest's objective, and every row's arrays against
 * its {@code max_length}. Files are hashed in parallel by Spark.
 */
public final class VerifyJob {
    private VerifyJob() {}

    /** What was checked and what was wrong (empty when all is well). */
    public record Result(int shards, long examples, List<String> problems) {}

    private record Checked(
            String path,
            long bytes,
            String sha256,
            long rows,
            long maxRowGroup,
            String schema,
            String error)
            implements java.io.Serializable {}

    /** A shard's columns as {@code name:type} (type INT64, INT32, or array<INT32>), in order. */
    static String describe(MessageType schema) {
        List<String> fields = new ArrayList<>();
        for (Type t : schema.getFields()) {
            Type leaf = t;
            boolean array = false;
            while (!leaf.isPrimitive()) {
                array = true;
                leaf = leaf.asGroupType().getType(0);
            }
            String primitive = leaf.asPrimitiveType().getPrimitiveTypeName().name();
            fields.add(t.getName() + ":" + (array ? "array<" + primitive + ">" : primitive));
        }
        return String.join(", ", fields);
    }

    /** A column's type as {@link #describe} writes it: ids are INT64, arrays array<INT32>. */
    private static String type(String column) {
        return switch (column) {
            case DatasetColumns.EXAMPLE_ID, DatasetColumns.DOC_ID -> "INT64";
            case DatasetColumns.NEXT_SENTENCE_LABEL -> "INT32";
            default -> "array<INT32>";
        };
    }

    /** What {@link #describe} gives for a shard of {@code split} that matches the manifest. */
    static String expectedSchema(PreparedDataset dataset, String split) {
        return String.join(
                ", ", dataset.columns(split).stream().map(c -> c + ":" + type(c)).toList());
    }

    /** The array columns of {@code split}: each must hold exactly max_length entries per row. */
    private static List<String> arrayColumns(PreparedDataset dataset, String split) {
        return dataset.columns(split).stream().filter(c -> type(c).startsWith("array<")).toList();
    }

    public static Result run(SparkSession spark, String data) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        PreparedDataset dataset = PreparedDataset.open(data, conf);
        Path root = new Path(dataset.root());
        FileSystem fs = dev.lmspark.spark.HadoopPaths.fileSystem(root, conf);
        List<String> problems = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        Map<String, PreparedDataset.Shard> byPath = new HashMap<>();
        for (PreparedDataset.Shard shard : dataset.shards()) {
            paths.add(shard.path());
            byPath.put(shard.path(), shard);
        }
        String rootString = dataset.root();
        var serializable = new SerializableConfiguration(conf);
        List<Checked> checked =
                JavaSparkContext.fromSparkContext(spark.sparkContext())
                        .parallelize(
                                paths,
                                Math.max(
                                        1,
                                        Math.min(
                                                paths.size(),
                                                spark.sparkContext().defaultParallelism())))
                        .map(p -> check(new Path(rootString, p), p, serializable.value()))
                        .collect();
        Map<String, Long> rowsPerSplit = new HashMap<>();
        Map<String, List<String>> wellFormed = new TreeMap<>();
        for (Checked c : checked) {
            PreparedDataset.Shard expected = byPath.get(c.path);
            if (c.error != null) {
                problems.add(c.path + ": " + c.error);
                continue;
            }
            if (c.bytes != expected.bytes()) {
                problems.add(
                        c.path + ": " + c.bytes + " bytes, the manifest says " + expected.bytes());
            }
            if (!c.sha256.equals(expected.sha256())) {
                problems.add(
                        c.path
                                + ": SHA-256 "
                                + c.sha256
                                + " does not match the manifest's "
                                + expected.sha256()
                                + " (the file changed or is corrupt)");
            }
            String schema = expectedSchema(dataset, expected.split());
            if (!c.schema.equals(schema)) {
                problems.add(
                        c.path
                                + ": columns ["
                                + c.schema
                                + "], the manifest's "
                                + dataset.objective()
                                + " dataset has ["
                                + schema
                                + "]");
            } else if (c.sha256.equals(expected.sha256()) && c.rows == expected.rows()) {
                // Only intact files are read row by row (a corrupt one may not even decode).
                wellFormed.computeIfAbsent(expected.split(), k -> new ArrayList<>()).add(c.path);
            }
            if (c.rows != expected.rows()) {
                problems.add(
                        c.path + ": " + c.rows + " rows, the manifest says " + expected.rows());
            }
            if (c.maxRowGroup > PreparedDataset.ROW_GROUP) {
                problems.add(
                        c.path
                                + ": a row group of "
                                + c.maxRowGroup
                                + " rows (at most "
                                + PreparedDataset.ROW_GROUP
                                + ")");
            }
            rowsPerSplit.merge(expected.split(), c.rows, Long::sum);
        }
        // Every row's arrays, in one scan per split (shards whose columns are wrong are reported
        // above): a dataset mixing lengths can never pass.
        int maxLength = dataset.maxLength();
        wellFormed.forEach(
                (split, rels) -> {
                    String wrong =
                            arrayColumns(dataset, split).stream()
                                    .map(c -> "size(" + c + ") != " + maxLength)
                                    .collect(java.util.stream.Collectors.joining(" OR "));
                    List<Row> bad;
                    try {
                        bad =
                                spark.read()
                                        .parquet(
                                                rels.stream()
                                                        .map(r -> literal(rootString, r))
                                                        .toArray(String[]::new))
                                        .where(wrong)
                                        .groupBy(functions.input_file_name().as("file"))
                                        .count()
                                        .collectAsList();
                    } catch (RuntimeException e) {
                        problems.add(
                                split
                                        + ": its rows cannot be read ("
                                        + String.valueOf(e.getMessage())
                                                .lines()
                                                .findFirst()
                                                .orElse("")
                                        + ")");
                        return;
                    }
                    for (Row r : bad) {
                        String file = r.getString(0);
                        String rel = rels.stream().filter(file::endsWith).findFirst().orElse(file);
                        problems.add(
                                rel
                                        + ": "
                                        + r.getLong(1)
                                        + " row(s) whose arrays are not "
                                        + maxLength
                                        + " long, the manifest's max_length");
                    }
                });
        for (String split : dataset.splits()) {
            long found = rowsPerSplit.getOrDefault(split, 0L);
            if (found != dataset.numExamples(split)) {
                problems.add(
                        split
                                + ": "
                                + found
                                + " rows in its shards, the manifest says "
                                + dataset.numExamples(split));
            }
        }
        try {
            Set<String> listed = new HashSet<>(paths);
            for (String split : PreparedDataset.SPLITS) {
                Path dir = new Path(root, split);
                if (!fs.exists(dir)) {
                    continue;
                }
                for (FileStatus f : fs.listStatus(dir)) {
                    String rel = split + "/" + f.getPath().getName();
                    if (!listed.contains(rel) && !f.getPath().getName().startsWith(".")) {
                        problems.add(rel + ": not listed in the manifest");
                    }
                }
            }
            Path tokenizer = new Path(dataset.tokenizerPath(), "tokenizer.json");
            String sha = ShardWriter.sha256(fs, tokenizer);
            if (!sha.equals(dataset.tokenizerSha256())) {
                problems.add("tokenizer/tokenizer.json: SHA-256 does not match the manifest");
            }
        } catch (IOException e) {
            problems.add("cannot read " + root + ": " + e.getMessage());
        }
        long examples = rowsPerSplit.values().stream().mapToLong(Long::longValue).sum();
        return new Result(checked.size(), examples, problems);
    }

    /**
     * Shard {@code rel} of {@code root} as a path Spark reads literally: glob characters escaped,
     * so a dataset folder such as {@code ds[v2]} is not taken for a pattern.
     */
    private static String literal(String root, String rel) {
        return new Path(root, rel).toString().replaceAll("([\\[\\]{}*?\\\\])", "\\\\$1");
    }

    private static Checked check(Path file, String rel, Configuration conf) {
        try {
            FileSystem fs = file.getFileSystem(conf);
            if (!fs.exists(file)) {
                return new Checked(rel, 0, "", 0, 0, "", "missing");
            }
            long bytes = fs.getFileStatus(file).getLen();
            String sha = ShardWriter.sha256(fs, file);
            long rows = 0;
            long maxGroup = 0;
            String schema;
            try (ParquetFileReader reader =
                    ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
                schema = describe(reader.getFooter().getFileMetaData().getSchema());
                for (BlockMetaData block : reader.getFooter().getBlocks()) {
                    rows += block.getRowCount();
                    maxGroup = Math.max(maxGroup, block.getRowCount());
                }
            } catch (IOException | RuntimeException e) {
                return new Checked(
                        rel,
                        bytes,
                        sha,
                        0,
                        0,
                        "",
                        "not a readable Parquet file (" + e.getMessage() + ")");
            }
            return new Checked(rel, bytes, sha, rows, maxGroup, schema, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
