package dev.lmspark.jobs;

import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.TaskRowsProbe;
import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.data.PreparedDataset;
import dev.lmspark.spark.ml.Sequences;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Writes one split of a prepared dataset as its Parquet shards: the shuffle by (seed, split,
 * doc_id, seq), the numbering of example_ids shard by shard, and the files with their hashes.
 */
final class ShardWriter {
    private ShardWriter() {}

    static int shardCount(String split, long rows, long trainRows, int shards) {
        if (split.equals("train")) {
            return (int) Math.max(1, Math.min(shards, rows));
        }
        int n = (int) Math.ceil(shards * (double) rows / Math.max(1, trainRows));
        return (int) Math.max(1, Math.min(Math.min(shards, n), rows));
    }

    static final Pattern SHARD_DIR = Pattern.compile("shard=(\\d+)");

    /**
     * Shuffles, numbers and writes one split; returns its shards for the manifest.
     *
     * <p>Each example gets a 64-bit key, {@code xxhash64(seed, split, doc_id, seq)}; its shard is
     * the key modulo the shard count, and within a shard examples are ordered by (key, doc_id,
     * seq). {@code example_id}s run through shard 0, then shard 1, and so on. Everything stays in
     * Spark SQL's binary rows: one exchange (by shard) moves each row once, and the writer lays
     * each shard down as one file in that order.
     */
    static List<Map<String, Object>> writeSplit(
            SparkSession spark,
            Dataset<Row> rows,
            String split,
            long count,
            int shards,
            long firstExampleId,
            int firstShard,
            PrepareConfig c,
            AtomicOutput out,
            double[] times) {
        long t = System.nanoTime();
        Column key =
                functions.xxhash64(
                        functions.lit(c.seed()),
                        functions.lit(split),
                        functions.col(DatasetColumns.DOC_ID),
                        functions.col("seq"));
        Dataset<Row> keyed =
                rows.withColumn("shuffle_key", key)
                        .withColumn(
                                "shard",
                                functions
                                        .pmod(functions.col("shuffle_key"), functions.lit(shards))
                                        .cast("int"));
        // Examples per shard (a small aggregate), so each shard knows its first example_id.
        long[] sizes = new long[shards];
        for (Row r : keyed.groupBy("shard").count().collectAsList()) {
            sizes[r.getInt(0)] = r.getLong(1);
        }
        long[] starts = new long[shards];
        for (int i = 1; i < shards; i++) {
            starts[i] = starts[i - 1] + sizes[i - 1];
        }
        Column[] startArray = new Column[shards];
        for (int i = 0; i < shards; i++) {
            startArray[i] = functions.lit(firstExampleId + starts[i]);
        }
        Column local =
                functions
                        .row_number()
                        .over(
                                Window.partitionBy("shard")
                                        .orderBy("shuffle_key", DatasetColumns.DOC_ID, "seq"))
                        .minus(1);
        Column exampleId =
                functions
                        .element_at(functions.array(startArray), functions.col("shard").plus(1))
                        .plus(local);
        List<Column> columns = new ArrayList<>();
        columns.add(exampleId.as(DatasetColumns.EXAMPLE_ID));
        for (StructField f : rows.schema().fields()) {
            String name = f.name();
            if (name.equals(Sequences.SPLIT)
                    || name.equals(Sequences.SEQ)
                    || name.equals(DatasetColumns.DOC_ID)
                    || (name.equals(DatasetColumns.TARGET_IDS) && !split.equals("predict"))) {
                continue;
            }
            columns.add(functions.col(name));
        }
        columns.add(functions.col(DatasetColumns.DOC_ID));
        columns.add(functions.col("shard"));
        Dataset<Row> numbered =
                keyed.select(columns.toArray(Column[]::new))
                        .sortWithinPartitions("shard", DatasetColumns.EXAMPLE_ID);
        if (c.stageTiming()) {
            // Materialize the exchange and numbering, to time the shuffle apart from the write.
            numbered = numbered.persist(StorageLevel.MEMORY_AND_DISK());
            numbered.count();
            times[0] = PrepareJob.seconds(t);
            t = System.nanoTime();
        }
        if (TaskRowsProbe.installed()) {
            StructType schema = numbered.schema();
            numbered =
                    numbered.mapPartitions(
                            (org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>)
                                    it -> TaskRowsProbe.wrap("write", it),
                            Encoders.row(schema));
        }
        Path written = new Path(out.temporary(), "_write/" + split);
        numbered.write()
                .partitionBy("shard")
                .option("compression", "snappy")
                .option(
                        "parquet.block.row.count.limit",
                        Integer.toString(PreparedDataset.ROW_GROUP))
                .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
                .parquet(written.toString());
        times[1] = PrepareJob.seconds(t);
        numbered.unpersist();
        FileSystem fs = out.fileSystem();
        List<Map<String, Object>> shardList = new ArrayList<>();
        try {
            TreeMap<Integer, Path> parts = new TreeMap<>();
            for (FileStatus dir : fs.listStatus(written)) {
                Matcher m = SHARD_DIR.matcher(dir.getPath().getName());
                if (!m.matches()) {
                    continue;
                }
                List<Path> files = new ArrayList<>();
                for (FileStatus file : fs.listStatus(dir.getPath())) {
                    if (file.getPath().getName().endsWith(".parquet")) {
                        files.add(file.getPath());
                    }
                }
                if (files.size() != 1) {
                    throw new IOException(
                            "shard "
                                    + m.group(1)
                                    + " of "
                                    + split
                                    + " came out as "
                                    + files.size()
                                    + " files");
                }
                parts.put(Integer.parseInt(m.group(1)), files.get(0));
            }
            fs.mkdirs(new Path(out.temporary(), split));
            int number = firstShard;
            for (Map.Entry<Integer, Path> e : parts.entrySet()) {
                int shard = e.getKey();
                String name = String.format("%s/part-%05d.parquet", split, number++);
                Path dest = new Path(out.temporary(), name);
                if (!fs.rename(e.getValue(), dest)) {
                    throw new IOException("cannot move " + e.getValue() + " to " + dest);
                }
                Map<String, Object> info = new LinkedHashMap<>();
                info.put("split", split);
                info.put("path", name);
                info.put("rows", sizes[shard]);
                info.put("first_example_id", firstExampleId + starts[shard]);
                info.put("bytes", fs.getFileStatus(dest).getLen());
                info.put("sha256", sha256(fs, dest));
                shardList.add(info);
            }
            fs.delete(new Path(out.temporary(), "_write"), true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move the shards of " + split, e);
        }
        return shardList;
    }

    static String sha256(FileSystem fs, Path file) throws IOException {
        try (InputStream in = fs.open(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                d.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What {@link #writeAll} wrote.
     *
     * @param shards every split's shards, for the manifest
     * @param exampleCounts examples by split
     * @param tokenCounts tokens by split
     */
    record Written(
            List<Map<String, Object>> shards,
            Map<String, Long> exampleCounts,
            Map<String, Long> tokenCounts) {}

    /**
     * Shuffles and writes every split that has examples into {@code out}, numbering on from {@code
     * firstExample} and {@code firstShard} (an increment's), adding the shuffle's and the write's
     * seconds to {@code stageSeconds}.
     */
    static Written writeAll(
            SparkSession spark,
            Dataset<Row> examples,
            Map<String, DatasetStats> stats,
            PrepareConfig c,
            AtomicOutput out,
            Map<String, Long> firstExample,
            Map<String, Integer> firstShard,
            Map<String, Double> stageSeconds) {
        List<Map<String, Object>> shards = new ArrayList<>();
        Map<String, Long> exampleCounts = new LinkedHashMap<>();
        Map<String, Long> tokenCounts = new LinkedHashMap<>();
        double writeSeconds = 0;
        for (String split : PreparedDataset.SPLITS) {
            DatasetStats st = stats.get(split);
            if (st == null || st.examples == 0) {
                continue;
            }
            exampleCounts.put(split, st.examples);
            tokenCounts.put(split, st.tokens);
            long trainRows = stats.containsKey("train") ? stats.get("train").examples : st.examples;
            int n = ShardWriter.shardCount(split, st.examples, trainRows, c.shards());
            Dataset<Row> rows =
                    examples.filter((FilterFunction<Row>) r -> r.getString(0).equals(split));
            double[] times = new double[2];
            shards.addAll(
                    ShardWriter.writeSplit(
                            spark,
                            rows,
                            split,
                            st.examples,
                            n,
                            firstExample.getOrDefault(split, 0L),
                            firstShard.getOrDefault(split, 0),
                            c,
                            out,
                            times));
            stageSeconds.merge("shuffle", times[0], Double::sum);
            writeSeconds += times[1];
        }
        stageSeconds.put("write", writeSeconds);
        return new Written(shards, exampleCounts, tokenCounts);
    }
}
