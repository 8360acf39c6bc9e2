package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code prepare}: reads a corpus, collates it with the Spark ML stages of {@code
 * dev.lmspark.spark.ml} (see {@link #stages}), shuffles each split deterministically, assigns dense
 * {@code example_id}s, and writes Parquet shards of about equal size with row groups of at most
 * {@value PreparedDataset#ROW_GROUP} rows — into a temporary directory that is renamed into place
 * with {@code manifest.json} written last. With {@code --incremental}, only input files the
 * manifest does not list are processed, as a new increment appended to the dataset.
 */
public final class PrepareJob {
    static final long SPLIT_STREAM = 1;
    static final long SHUFFLE_STREAM = 2;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PrepareJob() {}

    /** What was done. */
    public record Result(
            String output,
            boolean nothingToDo,
            long documents,
            Map<String, Long> examples,
            Map<String, Long> tokens,
            Map<String, Double> stageSeconds,
            double seconds) {}

    public static Result run(SparkSession spark, PrepareConfig c, PrintWriter progress) {
        long start = System.nanoTime();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path target = new Path(c.output());
        FileSystem fs = HadoopPaths.fileSystem(target, hadoop);
        Path qualified = fs.makeQualified(target);
        PreparedDataset existing = null;
        JsonNode previous = null;
        if (c.incremental()) {
            existing = IncrementalPrep.readPrevious(fs, qualified, hadoop);
            previous = existing.manifest();
        } else {
            AtomicOutput.checkTarget("--output", fs, qualified, c.overwrite());
        }

        TokenizerSource tokenizer =
                previous == null
                        ? TokenizerSource.read(c.tokenizer(), c.lowercase(), hadoop)
                        : TokenizerSource.read(existing.tokenizerPath(), false, hadoop);
        if (previous != null) {
            IncrementalPrep.checkSameConfig(c, previous, qualified, hadoop);
        }
        checkTokenizer(c, tokenizer.tokenizer());

        List<InputFiles.File> files = InputFiles.list(c.inputs(), hadoop);
        if (previous != null) {
            IncrementalPrep.checkRecordedInputs(spark, hadoop, previous, files, qualified);
        }
        IncrementalPrep.Start from = IncrementalPrep.start(existing, files);
        if (previous != null && files.isEmpty()) {
            progress.printf(
                    "prepare: no input files beyond the %d already in %s; nothing to do%n",
                    from.known(), qualified);
            return new Result(
                    qualified.toString(), true, 0, Map.of(), Map.of(), Map.of(), seconds(start));
        }
        long firstDoc = from.firstDoc();
        Map<String, Long> firstExample = from.firstExample();
        Map<String, Integer> firstShard = from.firstShard();
        Map<String, Double> stageSeconds = new LinkedHashMap<>();
        try (AtomicOutput out =
                AtomicOutput.begin(
                        "--output",
                        previous != null ? temporarySibling(qualified) : target,
                        c.overwrite() || previous != null,
                        hadoop)) {
            String tokenizerPath = new Path(out.temporary(), "tokenizer").toString();
            tokenizer.files().forEach((name, bytes) -> out.write("tokenizer/" + name, bytes));

            // Read.
            long t = System.nanoTime();
            DocumentFilters.Kept k = DocumentFilters.read(spark, c, files, firstDoc, progress);
            Dataset<Row> docs = k.docs();
            long read = k.read();
            long kept = k.kept();
            long tooShort = k.tooShort();
            long replacements = k.replacements();
            Map<String, Long> docsPerSplit = k.docsPerSplit();
            long dropped = read - kept;
            stageSeconds.put("read", seconds(t));
            progress.printf(
                    "prepare: %,d documents read from %d file(s); %,d kept%n",
                    read, files.size(), kept);
            if (kept == 0) {
                throw new BadInputException(
                        "no document is left after --min-chars "
                                + c.minChars()
                                + (c.dedup() ? " and --dedup" : "")
                                + "; lower --min-chars");
            }

            // Collate, stage by stage, timing each.
            PreparePipeline.Collated collated =
                    PreparePipeline.collate(c, tokenizerPath, docs, stageSeconds);
            Dataset<Row> tokenized = collated.tokenized();
            Dataset<Row> examples = collated.examples();
            long longDocs = DocumentFilters.longDocuments(c, tokenized);

            // Statistics, then shuffle and write each split.
            SpecialTokenIds s = tokenizer.tokenizer().specials();
            Map<String, DatasetStats> stats = stats(examples, c, s);
            ShardWriter.Written written =
                    ShardWriter.writeAll(
                            spark, examples, stats, c, out, firstExample, firstShard, stageSeconds);
            List<Map<String, Object>> shards = written.shards();
            Map<String, Long> exampleCounts = written.exampleCounts();
            Map<String, Long> tokenCounts = written.tokenCounts();
            examples.unpersist();
            if (tokenized != null) {
                tokenized.unpersist();
            }
            docs.unpersist();

            ObjectNode manifest =
                    PrepareManifest.manifest(
                            c,
                            tokenizer,
                            files,
                            firstDoc,
                            read,
                            kept,
                            dropped,
                            tooShort,
                            replacements,
                            longDocs,
                            docsPerSplit,
                            stats,
                            shards,
                            exampleCounts,
                            tokenCounts,
                            previous,
                            hadoop,
                            spark);
            if (previous == null) {
                out.write(PreparedDataset.MANIFEST, IncrementalPrep.bytes(manifest));
                out.publish();
            } else {
                IncrementalPrep.appendIncrement(fs, qualified, out, manifest);
            }
            progress.printf("prepare: wrote %s%n", describe(exampleCounts));
            return new Result(
                    qualified.toString(),
                    false,
                    kept,
                    exampleCounts,
                    tokenCounts,
                    stageSeconds,
                    seconds(start));
        }
    }

    private static Path temporarySibling(Path dataset) {
        return new Path(dataset.getParent(), "." + dataset.getName() + ".increment");
    }

    /** "35,329 train, 408 validation examples". */
    public static String describe(Map<String, Long> examples) {
        StringBuilder b = new StringBuilder();
        examples.forEach(
                (split, n) ->
                        b.append(b.length() == 0 ? "" : ", ")
                                .append(String.format("%,d %s", n, split)));
        return b.append(" examples").toString();
    }

    static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /** Refuses a tokenizer that lacks what the objective needs. */
    static void checkTokenizer(PrepareConfig c, LmTokenizer tok) {
        SpecialTokenIds s = tok.specials();
        switch (c.objective()) {
            case MLM, MLM_SEQ2SEQ -> {
                if (s.cls() == null || s.sep() == null || s.mask() == null) {
                    throw new BadInputException(
                            "--tokenizer "
                                    + c.tokenizer()
                                    + " has no [CLS], [SEP] and [MASK];"
                                    + " --objective "
                                    + c.objective().cliName()
                                    + " needs a WordPiece (BERT) tokenizer");
                }
            }
            case CLM -> {
                if (s.eos() == null) {
                    throw new BadInputException(
                            "--tokenizer "
                                    + c.tokenizer()
                                    + " has no EOS token"
                                    + " (<|endoftext|> or [SEP]); --objective clm needs one");
                }
                if (c.fimRate() > 0 && !s.hasFim()) {
                    throw new BadInputException(
                            "--fim-rate "
                                    + c.fimRate()
                                    + " needs a tokenizer with <fim_prefix>,"
                                    + " <fim_middle>, <fim_suffix> and <fim_pad>; --tokenizer "
                                    + c.tokenizer()
                                    + " has none: train one with train-tokenizer --type bpe, or set --fim-rate 0");
                }
            }
        }
    }

    private static Map<String, DatasetStats> stats(
            Dataset<Row> examples, PrepareConfig c, SpecialTokenIds s) {
        Integer mask = c.objective() == PrepareConfig.Objective.CLM ? null : s.mask();
        Integer fimPrefix = s.fimPrefix();
        Integer fimPad = s.fimPad();
        Integer eos = s.eos();
        Map<String, DatasetStats> out =
                examples.javaRDD()
                        .mapPartitions(
                                it -> {
                                    Map<String, DatasetStats> m = new HashMap<>();
                                    while (it.hasNext()) {
                                        Row r = it.next();
                                        m.computeIfAbsent(r.getString(0), k -> new DatasetStats())
                                                .add(r, mask, fimPrefix, fimPad, eos);
                                    }
                                    return List.of(m).iterator();
                                })
                        .reduce(
                                (a, b) -> {
                                    Map<String, DatasetStats> m = new HashMap<>(a);
                                    b.forEach((k, v) -> m.merge(k, v, DatasetStats::merge));
                                    return m;
                                });
        return new TreeMap<>(out);
    }
}
