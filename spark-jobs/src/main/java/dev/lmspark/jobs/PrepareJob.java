package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.DocumentReader;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.InvalidUtf8;
import dev.lmspark.spark.TaskRowsProbe;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.data.PreparedDataset;
import dev.lmspark.spark.ml.FimStage;
import dev.lmspark.spark.ml.MaskStage;
import dev.lmspark.spark.ml.NspPairingStage;
import dev.lmspark.spark.ml.PackStage;
import dev.lmspark.spark.ml.PadStage;
import dev.lmspark.spark.ml.Seq2SeqStage;
import dev.lmspark.spark.ml.Sequences;
import dev.lmspark.spark.ml.TokenizeStage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

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

    /**
     * The collation stages for {@code config}, reading the tokenizer at {@code tokenizerPath}. In
     * order: a tokenizing stage (or document-level FIM), pairing or packing, then masking or
     * context-level FIM, then padding; mlm-seq2seq is one stage.
     */
    public static List<PipelineStage> stages(PrepareConfig c, String tokenizerPath) {
        List<PipelineStage> stages = new ArrayList<>();
        switch (c.objective()) {
            case MLM -> {
                stages.add(
                        new TokenizeStage()
                                .setTokenizer(tokenizerPath)
                                .setSentences(true)
                                .setOutputCol("sentences"));
                if (c.nsp()) {
                    stages.add(
                            new NspPairingStage()
                                    .setTokenizer(tokenizerPath)
                                    .setMaxLength(c.maxLength())
                                    .setShortSeqProb(c.shortSeqProb())
                                    .setSeed(c.seed()));
                } else {
                    stages.add(
                            new PackStage()
                                    .setTokenizer(tokenizerPath)
                                    .setInputCol("sentences")
                                    .setMode("sentences")
                                    .setMaxLength(c.maxLength()));
                }
                stages.add(
                        new MaskStage()
                                .setTokenizer(tokenizerPath)
                                .setConfig(c.masking())
                                .setSeed(c.seed()));
                stages.add(
                        new PadStage()
                                .setTokenizer(tokenizerPath)
                                .setMaxLength(c.maxLength())
                                .setPaddingSide(c.paddingSide())
                                .setNsp(c.nsp()));
            }
            case CLM -> {
                boolean documentFim = c.fimRate() > 0 && c.fimLevel().equals("document");
                stages.add(
                        documentFim
                                ? new FimStage()
                                        .setTokenizer(tokenizerPath)
                                        .setLevel("document")
                                        .setRate(c.fimRate())
                                        .setSpmRate(c.fimSpmRate())
                                        .setSeed(c.seed())
                                : new TokenizeStage().setTokenizer(tokenizerPath));
                stages.add(
                        new PackStage()
                                .setTokenizer(tokenizerPath)
                                .setMode(c.pack() ? "causal" : "documents")
                                .setMaxLength(c.maxLength()));
                if (c.fimRate() > 0 && c.fimLevel().equals("context")) {
                    stages.add(
                            new FimStage()
                                    .setTokenizer(tokenizerPath)
                                    .setLevel("context")
                                    .setRate(c.fimRate())
                                    .setSpmRate(c.fimSpmRate())
                                    .setSeed(c.seed()));
                }
                stages.add(
                        new PadStage()
                                .setTokenizer(tokenizerPath)
                                .setMaxLength(c.maxLength())
                                .setPaddingSide(c.paddingSide())
                                .setCausal(true));
            }
            case MLM_SEQ2SEQ ->
                    stages.add(
                            new Seq2SeqStage()
                                    .setTokenizer(tokenizerPath)
                                    .setMaxLength(c.maxLength())
                                    .setSeed(c.seed()));
        }
        return stages;
    }

    /** The stages as one Spark ML pipeline. */
    public static Pipeline pipeline(PrepareConfig c, String tokenizerPath) {
        return new Pipeline().setStages(stages(c, tokenizerPath).toArray(PipelineStage[]::new));
    }

    public static Result run(SparkSession spark, PrepareConfig c, PrintWriter progress) {
        long start = System.nanoTime();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path target = new Path(c.output());
        FileSystem fs = HadoopPaths.fileSystem(target, hadoop);
        Path qualified = fs.makeQualified(target);
        PreparedDataset existing = null;
        JsonNode previous = null;
        if (c.incremental()) {
            existing = readPrevious(fs, qualified, hadoop);
            previous = existing.manifest();
        } else {
            AtomicOutput.checkTarget("--output", fs, qualified, c.overwrite());
        }

        TokenizerSource tokenizer =
                previous == null
                        ? TokenizerSource.read(c.tokenizer(), c.lowercase(), hadoop)
                        : TokenizerSource.read(existing.tokenizerPath(), false, hadoop);
        if (previous != null) {
            checkSameConfig(c, previous, qualified, hadoop);
        }
        checkTokenizer(c, tokenizer.tokenizer());

        List<InputFiles.File> files = InputFiles.list(c.inputs(), hadoop);
        if (previous != null) {
            checkRecordedInputs(spark, hadoop, previous, files, qualified);
        }
        long firstDoc = 0;
        Map<String, Long> firstExample = new HashMap<>();
        Map<String, Integer> firstShard = new HashMap<>();
        if (previous != null) {
            List<String> known = new ArrayList<>();
            for (JsonNode inc : previous.path("increments")) {
                for (JsonNode f : inc.path("files")) {
                    known.add(f.path("path").asText());
                }
                firstDoc = Math.max(firstDoc, inc.path("next_doc_id").asLong());
            }
            files.removeIf(f -> known.contains(f.path()));
            if (files.isEmpty()) {
                progress.printf(
                        "prepare: no input files beyond the %d already in %s; nothing to do%n",
                        known.size(), qualified);
                return new Result(
                        qualified.toString(),
                        true,
                        0,
                        Map.of(),
                        Map.of(),
                        Map.of(),
                        seconds(start));
            }
            for (PreparedDataset.Shard shard : existing.shards()) {
                firstExample.merge(shard.split(), shard.rows(), Long::sum);
                firstShard.merge(shard.split(), 1, Integer::sum);
            }
        }

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
            DocumentReader reader =
                    new DocumentReader(
                            c.formatOf(files.stream().map(InputFiles.File::path).toList()),
                            c.fields());
            Dataset<Row> raw = reader.read(spark, files, c.columns(), firstDoc);
            if (c.partitions() > 0) {
                raw = raw.repartition(c.partitions());
            }
            // Filtering needs the count before it; otherwise one pass over the kept documents does.
            boolean filtering = c.minChars() > 0 || c.dedup();
            long read = -1;
            long tooShort = 0;
            if (filtering) {
                raw = raw.persist(StorageLevel.MEMORY_AND_DISK());
                read = raw.count();
                tooShort =
                        c.minChars() > 0
                                ? raw.filter(shortDocs(c.minChars(), c.columns())).count()
                                : 0;
            }
            Dataset<Row> docs = filter(raw, c).persist(StorageLevel.MEMORY_AND_DISK());
            Map<String, Long> docsPerSplit = new TreeMap<>();
            long replacements = 0;
            long characters = 0;
            Column length =
                    c.columns().stream()
                            .map(
                                    col ->
                                            functions.coalesce(
                                                    functions.length(functions.col(col)),
                                                    functions.lit(0)))
                            .reduce(Column::plus)
                            .orElseThrow();
            for (Row r :
                    docs.groupBy(Sequences.SPLIT)
                            .agg(
                                    functions.count(functions.lit(1)),
                                    functions.sum("replacements"),
                                    functions.sum(length))
                            .collectAsList()) {
                docsPerSplit.put(r.getString(0), r.getLong(1));
                replacements += r.isNullAt(2) ? 0 : r.getLong(2);
                characters += r.isNullAt(3) ? 0 : r.getLong(3);
            }
            InvalidUtf8.report(
                    "prepare",
                    c.inputs(),
                    replacements,
                    characters,
                    c.maxInvalidUtf8Fraction(),
                    progress);
            long kept = docsPerSplit.values().stream().mapToLong(Long::longValue).sum();
            reader.release();
            if (filtering) {
                raw.unpersist();
            } else {
                read = kept;
            }
            if (read == 0) {
                throw new BadInputException(
                        "--input "
                                + String.join(",", c.inputs())
                                + " holds no documents (every line or record is blank); check the"
                                + " paths and --input-format");
            }
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
            List<PipelineStage> stages = stages(c, tokenizerPath);
            Dataset<Row> data = docs;
            List<String> names = stageNames(c);
            Dataset<Row> tokenized = null;
            // The tokenized documents (reused for statistics) and the examples (reused by every
            // split's write) are cached; --stage-timing caches every stage, to time each one.
            t = System.nanoTime();
            for (int i = 0; i < stages.size(); i++) {
                boolean last = i == stages.size() - 1;
                Dataset<Row> next = ((Transformer) stages.get(i)).transform(data);
                if (i == 0 || last || c.stageTiming()) {
                    next = next.persist(StorageLevel.MEMORY_AND_DISK());
                    next.count();
                    stageSeconds.merge(
                            c.stageTiming() || i == 0 ? names.get(i) : "collate",
                            seconds(t),
                            Double::sum);
                    t = System.nanoTime();
                }
                if (i == 0) {
                    tokenized = next;
                } else if (data != docs && data != tokenized) {
                    data.unpersist();
                }
                data = next;
            }
            Dataset<Row> examples = data;
            long longDocs = longDocuments(c, tokenized);

            // Statistics, then shuffle and write each split.
            SpecialTokenIds s = tokenizer.tokenizer().specials();
            Map<String, DatasetStats> stats = stats(examples, c, s);
            t = System.nanoTime();
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
                long trainRows =
                        stats.containsKey("train") ? stats.get("train").examples : st.examples;
                int n = shardCount(split, st.examples, trainRows, c.shards());
                Dataset<Row> rows =
                        examples.filter((FilterFunction<Row>) r -> r.getString(0).equals(split));
                double[] times = new double[2];
                shards.addAll(
                        writeSplit(
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
            examples.unpersist();
            if (tokenized != null) {
                tokenized.unpersist();
            }
            docs.unpersist();

            ObjectNode manifest =
                    manifest(
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
                out.write(PreparedDataset.MANIFEST, bytes(manifest));
                out.publish();
            } else {
                appendIncrement(fs, qualified, out, manifest);
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

    /** What each of {@link #stages} does, for the timing breakdown. */
    private static List<String> stageNames(PrepareConfig c) {
        return switch (c.objective()) {
            case MLM -> List.of("tokenize", "pair/pack", "mask/fim", "pad");
            case CLM ->
                    c.fimRate() > 0 && c.fimLevel().equals("context")
                            ? List.of("tokenize", "pair/pack", "mask/fim", "pad")
                            : List.of("tokenize", "pair/pack", "pad");
            case MLM_SEQ2SEQ -> List.of("tokenize");
        };
    }

    private static double seconds(long since) {
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

    /** Drops short documents and (with --dedup) repeats, and adds the split column. */
    private static Dataset<Row> filter(Dataset<Row> raw, PrepareConfig c) {
        Dataset<Row> docs = raw;
        if (c.minChars() > 0) {
            docs = docs.filter(functions.not(shortDocs(c.minChars(), c.columns())));
        }
        if (c.dedup()) {
            List<String> cols = c.columns();
            StructType withHash = docs.schema().add("text_hash", DataTypes.StringType, false);
            Dataset<Row> hashed =
                    docs.map(
                            (MapFunction<Row, Row>)
                                    r -> {
                                        StringBuilder b = new StringBuilder();
                                        for (String col : cols) {
                                            b.append(
                                                            normalizeForDedup(
                                                                    r.getString(r.fieldIndex(col))))
                                                    .append('\u0000');
                                        }
                                        Object[] v = new Object[r.length() + 1];
                                        for (int i = 0; i < r.length(); i++) {
                                            v[i] = r.get(i);
                                        }
                                        v[r.length()] =
                                                TokenizerSource.sha256(
                                                        b.toString()
                                                                .getBytes(StandardCharsets.UTF_8));
                                        return RowFactory.create(v);
                                    },
                            Encoders.row(withHash));
            Dataset<Row> first =
                    hashed.groupBy("text_hash")
                            .agg(functions.min(DatasetColumns.DOC_ID).as(DatasetColumns.DOC_ID))
                            .select(DatasetColumns.DOC_ID);
            docs =
                    docs.join(
                            first,
                            docs.col(DatasetColumns.DOC_ID)
                                    .equalTo(first.col(DatasetColumns.DOC_ID)),
                            "left_semi");
        }
        long seed = c.seed();
        double fraction = c.validationFraction();
        StructType schema = docs.schema().add(Sequences.SPLIT, DataTypes.StringType, false);
        return docs.map(
                (MapFunction<Row, Row>)
                        r -> {
                            Object[] v = new Object[r.length() + 1];
                            for (int i = 0; i < r.length(); i++) {
                                v[i] = r.get(i);
                            }
                            v[r.length()] =
                                    Seeds.uniform(seed, SPLIT_STREAM, r.getLong(0)) < fraction
                                            ? "validation"
                                            : "train";
                            return RowFactory.create(v);
                        },
                Encoders.row(schema));
    }

    /** Documents whose text columns hold fewer than {@code minChars} characters together. */
    private static Column shortDocs(int minChars, List<String> columns) {
        Column length = functions.lit(0);
        for (String c : columns) {
            length = length.plus(functions.char_length(functions.col(c)));
        }
        return length.lt(minChars);
    }

    /** NFC, whitespace runs as one space, trimmed, lowercase: what exact --dedup compares. */
    static String normalizeForDedup(String text) {
        return Normalizer.normalize(text, Normalizer.Form.NFC)
                .strip()
                .replaceAll("\\s+", " ")
                .toLowerCase(java.util.Locale.ROOT);
    }

    /** Documents whose tokens (with specials or EOS) do not fit one window. */
    private static long longDocuments(PrepareConfig c, Dataset<Row> tokenized) {
        if (c.objective() == PrepareConfig.Objective.MLM_SEQ2SEQ || tokenized == null) {
            return 0;
        }
        String col = c.objective() == PrepareConfig.Objective.MLM ? "sentences" : "tokens";
        int extra = c.objective() == PrepareConfig.Objective.MLM ? 2 : 1;
        int window = c.maxLength();
        return tokenized
                .filter(
                        (FilterFunction<Row>)
                                r -> {
                                    int n = 0;
                                    if (c.objective() == PrepareConfig.Objective.MLM) {
                                        for (int[] s : Sequences.intArrays(r, r.fieldIndex(col))) {
                                            n += s.length;
                                        }
                                    } else {
                                        n = Sequences.ints(r, r.fieldIndex(col)).length;
                                    }
                                    return n + extra > window;
                                })
                .count();
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

    static int shardCount(String split, long rows, long trainRows, int shards) {
        if (split.equals("train")) {
            return (int) Math.max(1, Math.min(shards, rows));
        }
        int n = (int) Math.ceil(shards * (double) rows / Math.max(1, trainRows));
        return (int) Math.max(1, Math.min(Math.min(shards, n), rows));
    }

    private static final Pattern SHARD_DIR = Pattern.compile("shard=(\\d+)");

    /**
     * Shuffles, numbers and writes one split; returns its shards for the manifest.
     *
     * <p>Each example gets a 64-bit key, {@code xxhash64(seed, split, doc_id, seq)}; its shard is
     * the key modulo the shard count, and within a shard examples are ordered by (key, doc_id,
     * seq). {@code example_id}s run through shard 0, then shard 1, and so on. Everything stays in
     * Spark SQL's binary rows: one exchange (by shard) moves each row once, and the writer lays
     * each shard down as one file in that order.
     */
    private static List<Map<String, Object>> writeSplit(
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
            times[0] = seconds(t);
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
        times[1] = seconds(t);
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
    private static void checkSameConfig(
            PrepareConfig c, JsonNode previous, Path dataset, Configuration hadoop) {
        JsonNode recorded = previous.path("config");
        JsonNode given = JSON.valueToTree(c.describe());
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

    private static String shown(JsonNode v) {
        return v.isMissingNode() || v.isNull()
                ? "unset"
                : v.isTextual() ? v.asText() : v.toString();
    }

    /**
     * {@code --incremental}: every input file an earlier increment recorded must still exist
     * unchanged (size and modification time; the SHA-256 too for the files this run lists again),
     * since its rows are in the dataset already.
     */
    private static void checkRecordedInputs(
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
    private static PreparedDataset readPrevious(FileSystem fs, Path dataset, Configuration hadoop) {
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

    private static byte[] bytes(JsonNode node) {
        try {
            return (JSON.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode manifest(
            PrepareConfig c,
            TokenizerSource tokenizer,
            List<InputFiles.File> files,
            long firstDoc,
            long read,
            long kept,
            long dropped,
            long tooShort,
            long replacements,
            long longDocs,
            Map<String, Long> docsPerSplit,
            Map<String, DatasetStats> stats,
            List<Map<String, Object>> shards,
            Map<String, Long> examples,
            Map<String, Long> tokens,
            JsonNode previous,
            Configuration hadoop,
            SparkSession spark) {
        LmTokenizer tok = tokenizer.tokenizer();
        boolean mlm = c.objective() != PrepareConfig.Objective.CLM;
        ObjectNode m = JSON.createObjectNode();
        m.put("format_version", PreparedDataset.FORMAT_VERSION);
        m.put("objective", c.objective().cliName());
        m.put("max_length", c.maxLength());
        ObjectNode padding = m.putObject("padding_side");
        for (String split : examples.keySet()) {
            padding.put(split, split.equals("predict") ? "left" : c.paddingSide());
        }
        m.put("seed", c.seed());
        ObjectNode numExamples = m.putObject("num_examples");
        ObjectNode numTokens = m.putObject("num_tokens");
        ArrayNode shardArray = m.putArray("shards");
        if (previous != null) {
            previous.path("num_examples")
                    .fields()
                    .forEachRemaining(e -> numExamples.put(e.getKey(), e.getValue().asLong()));
            previous.path("num_tokens")
                    .fields()
                    .forEachRemaining(e -> numTokens.put(e.getKey(), e.getValue().asLong()));
            previous.path("shards").forEach(shardArray::add);
        }
        examples.forEach((k, v) -> numExamples.put(k, numExamples.path(k).asLong(0) + v));
        tokens.forEach((k, v) -> numTokens.put(k, numTokens.path(k).asLong(0) + v));
        shards.forEach(s -> shardArray.add(JSON.valueToTree(s)));
        m.set("config", JSON.valueToTree(c.describe()));
        ObjectNode t = m.putObject("tokenizer");
        t.put("sha256", tokenizer.sha256());
        t.put("type", tok.modelType());
        t.put("vocab_size", tok.vocabSize());
        t.set("special_token_ids", JSON.valueToTree(tok.specials().byName()));

        ObjectNode st = JSON.createObjectNode();
        st.put("documents_read", read);
        st.put("documents_kept", kept);
        st.put("documents_dropped", dropped);
        st.put("documents_dropped_min_chars", tooShort);
        st.put("documents_dropped_duplicates", dropped - tooShort);
        st.put("documents_longer_than_window", longDocs);
        st.put(
                "long_documents",
                c.objective() == PrepareConfig.Objective.MLM && c.nsp() ? "truncated" : "split");
        st.put("invalid_utf8_replacements", replacements);
        st.set("documents_per_split", JSON.valueToTree(docsPerSplit));
        ObjectNode perSplit = st.putObject("splits");
        stats.forEach(
                (split, s) ->
                        perSplit.set(
                                split,
                                JSON.valueToTree(
                                        s.describe(
                                                mlm && !split.equals("predict"),
                                                c.nsp(),
                                                c.objective() == PrepareConfig.Objective.CLM
                                                        && c.fimRate() > 0))));

        ObjectNode p = Provenance.of(spark.version());
        ArrayNode inputFiles = JSON.createArrayNode();
        for (Map.Entry<String, String> e : fileHashes(spark, files).entrySet()) {
            InputFiles.File f =
                    files.stream()
                            .filter(x -> x.path().equals(e.getKey()))
                            .findFirst()
                            .orElseThrow();
            ObjectNode o = inputFiles.addObject();
            o.put("path", f.path());
            o.put("bytes", f.size());
            o.put("modification_time", f.modificationTime());
            o.put("sha256", e.getValue());
        }

        ArrayNode increments = m.putArray("increments");
        if (previous != null) {
            previous.path("increments").forEach(increments::add);
        }
        ObjectNode inc = increments.addObject();
        inc.put("index", increments.size() - 1);
        inc.set("files", inputFiles);
        inc.put("first_doc_id", firstDoc);
        inc.put("next_doc_id", firstDoc + read);
        inc.set("num_examples", JSON.valueToTree(examples));
        inc.set("statistics", st);
        if (previous == null) {
            m.set("statistics", st);
        } else {
            m.set("statistics", previous.path("statistics"));
        }
        m.set("provenance", p);
        return m;
    }

    /** SHA-256 of every input file, computed in parallel by Spark. */
    private static Map<String, String> fileHashes(SparkSession spark, List<InputFiles.File> files) {
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
                                            path, sha256(p.getFileSystem(conf.value()), p));
                                })
                        .collect();
        Map<String, String> out = new TreeMap<>();
        hashes.forEach(h -> out.put(h._1(), h._2()));
        return out;
    }

    /** Moves an increment's shards into the dataset, then replaces the manifest (last). */
    private static void appendIncrement(
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
}
