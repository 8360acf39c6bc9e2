package dev.lmspark.jobs;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.PreTokenizer;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerTrainer;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.DocumentReader;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.InvalidUtf8;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * {@code train-tokenizer}: counts words across the corpus with Spark — each task pre-tokenizes its
 * documents exactly as the trained tokenizer will and counts locally, then a shuffle sums the
 * counts — and trains the vocabulary on the driver from the summed counts. The counts are exact, so
 * the vocabulary does not depend on how the input is partitioned.
 */
public final class TrainTokenizerJob {

    /**
     * @param inputs corpus paths or globs
     * @param format how files hold documents, or null to go by the first file's extension
     * @param textField the JSON field or Parquet column holding the text
     * @param spec what to train
     * @param output the tokenizer directory to create
     * @param overwrite replace an existing output
     * @param partitions tasks for counting; 0 = at least Spark's default parallelism
     */
    public record Config(
            List<String> inputs,
            InputFormat format,
            String textField,
            TokenizerSpec spec,
            String output,
            boolean overwrite,
            int partitions,
            double maxInvalidUtf8Fraction) {
        public Config {
            InvalidUtf8.checkFraction(maxInvalidUtf8Fraction);
            if (inputs == null || inputs.isEmpty()) {
                throw new BadInputException("--input is required: one or more paths or globs");
            }
            inputs.forEach(i -> HadoopPaths.check("--input", i));
            inputs = List.copyOf(inputs);
            HadoopPaths.check("--output", output);
            if (partitions < 0) {
                throw new BadInputException(
                        "--partitions " + partitions + " must be 0 (automatic) or more");
            }
        }
    }

    /** What was trained. */
    public record Result(
            String output,
            long distinctWords,
            long totalWords,
            int vocabSize,
            int merges,
            int countingTasks,
            double seconds) {}

    private TrainTokenizerJob() {}

    /** Runs the job; progress lines go to {@code progress}. */
    public static Result run(SparkSession spark, Config config, PrintWriter progress) {
        long start = System.nanoTime();
        var hadoop = spark.sparkContext().hadoopConfiguration();
        Path target = new Path(config.output());
        AtomicOutput.checkTarget(
                "--output",
                HadoopPaths.fileSystem(target, hadoop),
                HadoopPaths.fileSystem(target, hadoop).makeQualified(target),
                config.overwrite());

        List<InputFiles.File> files = InputFiles.list(config.inputs(), hadoop);
        InputFormat format =
                config.format() != null
                        ? config.format()
                        : InputFormat.fromPath(files.get(0).path());
        JavaRDD<String[]> docs =
                new DocumentReader(format, List.of(config.textField())).documents(spark, files);
        int partitions =
                config.partitions() > 0
                        ? config.partitions()
                        : Math.max(
                                docs.getNumPartitions(), spark.sparkContext().defaultParallelism());
        if (partitions != docs.getNumPartitions()) {
            docs = docs.repartition(partitions);
        }
        PreTokenizer pre = config.spec().preTokenizer();
        JavaPairRDD<String, Long> counts =
                docs.mapPartitionsToPair(texts -> countWords(texts, pre)).reduceByKey(Long::sum);
        progress.printf(
                "train-tokenizer: counting words in %d tasks (%s)%n",
                partitions, config.spec().type().cliName());
        Map<String, Long> wordCounts = new HashMap<>(counts.collectAsMap());
        Long replacements = wordCounts.remove(REPLACEMENTS);
        Long characters = wordCounts.remove(CHARACTERS);
        InvalidUtf8.report(
                "train-tokenizer",
                config.inputs(),
                replacements == null ? 0 : replacements,
                characters == null ? 0 : characters,
                config.maxInvalidUtf8Fraction(),
                progress);
        long total = wordCounts.values().stream().mapToLong(Long::longValue).sum();
        if (wordCounts.isEmpty()) {
            throw new BadInputException(
                    "--input "
                            + String.join(",", config.inputs())
                            + " holds no text; check the paths and --input-format");
        }
        progress.printf(
                "train-tokenizer: %,d distinct words, %,d in all; training a %,d-token vocabulary%n",
                wordCounts.size(), total, config.spec().vocabSize());

        TrainedTokenizer trained;
        try {
            trained = TokenizerTrainer.train(config.spec(), wordCounts);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        if (trained.vocab().size() < config.spec().vocabSize()) {
            progress.printf(
                    "train-tokenizer: the corpus supports only %,d tokens (no pair of tokens occurs"
                            + " %d times or more any longer), fewer than --vocab-size %,d%n",
                    trained.vocab().size(),
                    Math.max(1, config.spec().minFrequency()),
                    config.spec().vocabSize());
        }
        String published;
        try (AtomicOutput out =
                AtomicOutput.begin("--output", target, config.overwrite(), hadoop)) {
            trained.files().forEach(out::write);
            out.publish();
            published = out.target().toString();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Result(
                published,
                wordCounts.size(),
                total,
                trained.vocab().size(),
                trained.merges().size(),
                partitions,
                seconds);
    }

    /**
     * Counts under these keys ride along with the word counts (one reduce, exactly once whatever
     * the retries); no pre-tokenizer yields a word with a space in it.
     */
    private static final String REPLACEMENTS = " invalid utf-8";

    private static final String CHARACTERS = " characters";

    /** Word counts of documents {text, replacement count}, plus the two counts above. */
    private static Iterator<Tuple2<String, Long>> countWords(
            Iterator<String[]> documents, PreTokenizer pre) {
        Map<String, Long> local = new HashMap<>();
        long replacements = 0;
        long characters = 0;
        while (documents.hasNext()) {
            String[] d = documents.next();
            replacements += Long.parseLong(d[1]);
            characters += d[0].codePointCount(0, d[0].length()); // as Spark's length()
            for (String word : pre.words(d[0])) {
                local.merge(word, 1L, Long::sum);
            }
        }
        local.put(REPLACEMENTS, replacements);
        local.put(CHARACTERS, characters);
        return local.entrySet().stream()
                .map(e -> new Tuple2<>(e.getKey(), e.getValue()))
                .iterator();
    }
}
