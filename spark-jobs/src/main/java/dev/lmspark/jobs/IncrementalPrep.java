package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * {@code prepare --incremental}: what an increment must share with the dataset it extends (the
 * recorded config, the tokenizer by hash, the inputs already read), and the appending of its
 * documents to the dataset's record.
 */
final class IncrementalPrep {
    private IncrementalPrep() {}

    /**
     * The settings an increment must share with the dataset it extends: each changes what a row
     * holds or which rows exist ({@code inputs}, {@code input_format} and {@code shards} may
     * differ; the tokenizer is compared by hash).
     */
    static final List<String> INCREMENT_CONTRACT =
            List.of(
                    "objective",
                    "max_length",
                    "lowercase",
                    "text_field",
                    "prefix_field",
                    "target_field",
                    "seed",
                    "validation_fraction",
                    "min_chars",
                    "dedup",
                    "padding_side",
                    "masking",
                    "mlm_probability",
                    "mask_replace_prob",
                    "random_replace_prob",
                    "max_predictions",
                    "whole_word_mask",
                    "nsp",
                    "short_seq_prob",
                    "pack",
                    "fim_rate",
                    "fim_spm_rate",
                    "fim_level");

    /** {@code --incremental}: refuses a setting that differs from the dataset's recorded config. */
    static void checkSameConfig(
            PrepareConfig c, JsonNode previous, Path dataset, Configuration hadoop) {
        JsonNode recorded = previous.path("config");
        JsonNode given = PrepareJob.JSON.valueToTree(c.describe());
        for (String key : INCREMENT_CONTRACT) {
            JsonNode was = recorded.path(key);
            JsonNode now = given.path(key);
            boolean same =
                    was.isNumber() && now.isNumber()
                            ? was.doubleValue() == now.doubleValue()
                            : was.equals(now);
            if (!same) {
                throw new BadInputException(
                        "--incremental: --"
                                + key.replace('_', '-')
                                + " is "
                                + shown(now)
                                + " here, but "
                                + dataset
                                + " was prepared with "
                                + shown(was)
                                + "; give the recorded value, or prepare a new dataset (without"
                                + " --incremental) for the new setting");
            }
        }
        if (c.tokenizer() != null) {
            String sha = TokenizerSource.read(c.tokenizer(), c.lowercase(), hadoop).sha256();
            String recordedSha = previous.path("tokenizer").path("sha256").asText();
            if (!sha.equals(recordedSha)) {
                throw new BadInputException(
                        "--incremental: --tokenizer "
                                + c.tokenizer()
                                + " (SHA-256 "
                                + sha.substring(0, 12)
                                + "…) is not the tokenizer "
                                + dataset
                                + " was prepared with ("
                                + recordedSha.substring(0, Math.min(12, recordedSha.length()))
                                + "…, kept in its tokenizer/ folder); give that one, or prepare a"
                                + " new dataset");
            }
        }
    }

    static String shown(JsonNode v) {
        return v.isMissingNode() || v.isNull()
                ? "unset"
                : v.isTextual() ? v.asText() : v.toString();
    }

    /**
     * {@code --incremental}: every input file an earlier increment recorded must still exist
     * unchanged (size and modification time; the SHA-256 too for the files this run lists again),
     * since its rows are in the dataset already.
     */
    static void checkRecordedInputs(
            SparkSession spark,
            Configuration hadoop,
            JsonNode previous,
            List<InputFiles.File> listed,
            Path dataset) {
        String fix =
                "; add new data as new files, or prepare the dataset anew without --incremental";
        Map<String, InputFiles.File> byPath = new HashMap<>();
        listed.forEach(f -> byPath.put(f.path(), f));
        Map<String, String> recordedSha = new TreeMap<>();
        Map<String, Integer> increment = new HashMap<>();
        List<InputFiles.File> rehash = new ArrayList<>();
        for (JsonNode inc : previous.path("increments")) {
            for (JsonNode f : inc.path("files")) {
                String path = f.path("path").asText();
                int index = inc.path("index").asInt();
                FileStatus status;
                try {
                    Path file = new Path(path);
                    status = file.getFileSystem(hadoop).getFileStatus(file);
                } catch (java.io.FileNotFoundException gone) {
                    status = null;
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + path, e);
                }
                if (status == null) {
                    throw new BadInputException(
                            "--incremental: input file "
                                    + path
                                    + ", recorded by increment "
                                    + index
                                    + " of "
                                    + dataset
                                    + ", no longer exists (its rows are in the dataset)"
                                    + fix);
                }
                long bytes = f.path("bytes").asLong();
                long time = f.path("modification_time").asLong();
                if (status.getLen() != bytes || status.getModificationTime() != time) {
                    throw new BadInputException(
                            "--incremental: input file "
                                    + path
                                    + " changed since increment "
                                    + index
                                    + " recorded it ("
                                    + (status.getLen() != bytes
                                            ? bytes + " → " + status.getLen() + " bytes"
                                            : "modified at another time")
                                    + ")"
                                    + fix);
                }
                if (byPath.containsKey(path)) {
                    rehash.add(byPath.get(path));
                    recordedSha.put(path, f.path("sha256").asText());
                    increment.put(path, index);
                }
            }
        }
        if (rehash.isEmpty()) {
            return;
        }
        fileHashes(spark, rehash)
                .forEach(
                        (path, sha) -> {
                            if (!sha.equals(recordedSha.get(path))) {
                                throw new BadInputException(
                                        "--incremental: input file "
                                                + path
                                                + " changed since increment "
                                                + increment.get(path)
                                                + " recorded it (its SHA-256 differs)"
                                                + fix);
                            }
                        });
    }

    /** The dataset {@code --incremental} extends. */
    static PreparedDataset readPrevious(FileSystem fs, Path dataset, Configuration hadoop) {
        Path manifest = new Path(dataset, PreparedDataset.MANIFEST);
        try {
            if (!fs.exists(manifest)) {
                throw new BadInputException(
                        dataset
                                + " has no "
                                + PreparedDataset.MANIFEST
                                + "; --incremental extends a complete prepared dataset");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + manifest, e);
        }
        return PreparedDataset.open(dataset.toString(), hadoop);
    }

    static byte[] bytes(JsonNode node) {
        try {
            return (PrepareJob.JSON.writeValueAsString(node) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SHA-256 of every input file, computed in parallel by Spark. */
    static Map<String, String> fileHashes(SparkSession spark, List<InputFiles.File> files) {
        List<String> paths = files.stream().map(InputFiles.File::path).toList();
        var conf =
                new org.apache.spark.util.SerializableConfiguration(
                        spark.sparkContext().hadoopConfiguration());
        List<Tuple2<String, String>> hashes =
                org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext())
                        .parallelize(
                                paths,
                                Math.max(
                                        1,
                                        Math.min(
                                                paths.size(),
                                                spark.sparkContext().defaultParallelism())))
                        .map(
                                path -> {
                                    Path p = new Path(path);
                                    return new Tuple2<>(
                                            path,
                                            ShardWriter.sha256(p.getFileSystem(conf.value()), p));
                                })
                        .collect();
        Map<String, String> out = new TreeMap<>();
        hashes.forEach(h -> out.put(h._1(), h._2()));
        return out;
    }

    /** Moves an increment's shards into the dataset, then replaces the manifest (last). */
    static void appendIncrement(
            FileSystem fs, Path dataset, AtomicOutput out, ObjectNode manifest) {
        try {
            for (String split : PreparedDataset.SPLITS) {
                Path dir = new Path(out.temporary(), split);
                if (!fs.exists(dir)) {
                    continue;
                }
                fs.mkdirs(new Path(dataset, split));
                for (FileStatus f : fs.listStatus(dir)) {
                    Path dest = new Path(new Path(dataset, split), f.getPath().getName());
                    if (fs.exists(dest) || !fs.rename(f.getPath(), dest)) {
                        throw new IOException("cannot move " + f.getPath() + " to " + dest);
                    }
                }
            }
            Path next = new Path(dataset, "." + PreparedDataset.MANIFEST + ".next");
            try (var os = fs.create(next, true)) {
                os.write(bytes(manifest));
            }
            Path old = new Path(dataset, "." + PreparedDataset.MANIFEST + ".old");
            fs.delete(old, false);
            if (!fs.rename(new Path(dataset, PreparedDataset.MANIFEST), old)
                    || !fs.rename(next, new Path(dataset, PreparedDataset.MANIFEST))) {
                throw new IOException(
                        "cannot replace " + new Path(dataset, PreparedDataset.MANIFEST));
            }
            fs.delete(old, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append the increment to " + dataset, e);
        }
    }

    /**
     * Where an increment continues its dataset (all zero for a new dataset).
     *
     * @param known input files the dataset already holds
     * @param firstDoc the first doc_id of the new documents
     * @param firstExample by split, the first example_id of the new examples
     * @param firstShard by split, the number of the first new shard
     */
    record Start(
            int known,
            long firstDoc,
            Map<String, Long> firstExample,
            Map<String, Integer> firstShard) {}

    /**
     * Where new documents continue {@code existing} (null: a new dataset); removes from {@code
     * files} those the dataset already holds.
     */
    static Start start(PreparedDataset existing, List<InputFiles.File> files) {
        long firstDoc = 0;
        Map<String, Long> firstExample = new HashMap<>();
        Map<String, Integer> firstShard = new HashMap<>();
        if (existing == null) {
            return new Start(0, firstDoc, firstExample, firstShard);
        }
        List<String> known = new ArrayList<>();
        for (JsonNode inc : existing.manifest().path("increments")) {
            for (JsonNode f : inc.path("files")) {
                known.add(f.path("path").asText());
            }
            firstDoc = Math.max(firstDoc, inc.path("next_doc_id").asLong());
        }
        files.removeIf(f -> known.contains(f.path()));
        for (PreparedDataset.Shard shard : existing.shards()) {
            firstExample.merge(shard.split(), shard.rows(), Long::sum);
            firstShard.merge(shard.split(), 1, Integer::sum);
        }
        return new Start(known.size(), firstDoc, firstExample, firstShard);
    }
}
