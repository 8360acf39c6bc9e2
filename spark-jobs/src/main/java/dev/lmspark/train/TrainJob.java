package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * {@code train}: distributed pretraining with parameter averaging — how a run starts. It checks
 * every input before touching {@code --output}, builds (or reads, on {@code --resume}) the model,
 * publishes its parameters as the start round's shards ({@link GlobalShards}) and hands the run to
 * the {@link TrainingMaster}, which schedules the rounds: {@link Worker} tasks train and send their
 * updates through Spark's shuffle to {@link ShardedCombine} tasks, which apply the outer optimizer
 * shard by shard. Checkpoints, metrics and resume follow docs/checkpoint-format.md and
 * docs/metrics.md.
 */
public final class TrainJob {
    static final long INIT_STREAM = 0x696e697400000001L;

    private TrainJob() {}

    /** What a run did. */
    public record Result(
            String output,
            long firstRound,
            long lastRound,
            long steps,
            long tokens,
            Double firstEvalLoss,
            Double lastEvalLoss,
            double lastLoss,
            String checkpoint,
            double seconds) {}

    /**
     * Trains.
     *
     * @param given the flags as given
     * @param explicit the snake_case names of the flags given on the command line (a resumed run
     *     refuses those that differ from the recorded config)
     * @param resume continue from {@code --output}'s latest checkpoint
     * @param overwrite start over in an existing {@code --output}
     */
    public static Result run(
            SparkSession spark,
            TrainConfig given,
            Set<String> explicit,
            boolean resume,
            boolean overwrite,
            PrintWriter log) {
        return run(spark, given, explicit, resume, overwrite, StopSignal.none(), log);
    }

    /**
     * Trains until done or until {@code stop} is requested; then it publishes a checkpoint of the
     * last completed round and throws {@link TrainStoppedException}.
     */
    public static Result run(
            SparkSession spark,
            TrainConfig given,
            Set<String> explicit,
            boolean resume,
            boolean overwrite,
            StopSignal stop,
            PrintWriter log) {
        long started = System.nanoTime();
        SparkContext sc = spark.sparkContext();
        Configuration hadoop = sc.hadoopConfiguration();
        Path output = HadoopPaths.check("--output", given.output());
        FileSystem fs = HadoopPaths.fileSystem(output, hadoop);
        output = fs.makeQualified(output);
        try {
            Start start =
                    resume
                            ? resumeFrom(fs, output, given, explicit, log)
                            : fresh(fs, output, given, overwrite);
            TrainConfig c = start.config;
            PreparedDataset dataset = PreparedDataset.open(c.data(), hadoop);
            if (start.state != null) {
                checkSameData(start.state, dataset, c);
            }
            if (!dataset.hasSplit("train") || dataset.numExamples("train") == 0) {
                throw new BadInputException(
                        "--data " + c.data() + " has no train split; prepare a dataset first");
            }
            try (NDManager manager =
                    NDManager.newBaseManager(Devices.forTask(null).cpu(), Devices.ENGINE)) {
                Model model =
                        resume
                                ? resumedModel(fs, start.checkpoint, c, manager)
                                : initialModel(c, dataset, hadoop, manager, log);
                checkModelAgainstData(c, model.config, dataset, log);
                MemoryPlan.check(
                        spark.sparkContext(),
                        c,
                        ModelWeights.shapes(model.config).values().stream()
                                .mapToLong(ai.djl.ndarray.types.Shape::size)
                                .sum());
                // The data's own refusals, also before --output is touched.
                DataSchedule.of(
                        dataset,
                        c.workers(),
                        c.examplesPerWorkerRound(),
                        c.seed(),
                        start.dataOrder);
                if (c.evalEvery() > 0) {
                    requireValidation(dataset, c);
                }
                if (!resume) {
                    // Only now that every input is checked: a refused run leaves --output as it
                    // was (an earlier run in it included).
                    clearOutput(fs, output);
                }
                return train(spark, c, dataset, model, start, fs, output, stop, log, started);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where a run starts: its config, and for a resumed run the checkpoint's contents. */
    private record Start(
            TrainConfig config,
            long round,
            long tokens,
            long examples,
            long scheduleSteps,
            long rounds,
            int dataOrder,
            Path checkpoint,
            JsonNode state) {}

    /**
     * The model being trained at its start: its config, parameters and (resumed) outer momentum, as
     * arrays on the driver's manager until they are published as round 0's (or the resumed round's)
     * shards.
     */
    private record Model(
            ModelConfig config, Map<String, NDArray> params, Map<String, NDArray> momentum) {}

    private static Start fresh(FileSystem fs, Path output, TrainConfig c, boolean overwrite)
            throws IOException {
        boolean used =
                fs.exists(TrainCheckpoints.directory(output))
                        || fs.exists(new Path(output, MetricsLog.FILE));
        if (used && !overwrite) {
            throw new BadInputException(
                    "--output "
                            + output
                            + " already holds a training run; add --resume to continue it, or"
                            + " --overwrite to start over");
        }
        return new Start(c, 0, 0, 0, 0, 0, DataSchedule.BLOCKS, null, null);
    }

    /** A fresh run's {@code --output}: an earlier run's checkpoints and metrics removed. */
    private static void clearOutput(FileSystem fs, Path output) throws IOException {
        fs.delete(TrainCheckpoints.directory(output), true);
        fs.delete(new Path(output, MetricsLog.FILE), false);
        fs.mkdirs(output);
    }

    private static Start resumeFrom(
            FileSystem fs, Path output, TrainConfig given, Set<String> explicit, PrintWriter log)
            throws IOException {
        Path checkpoint = TrainCheckpoints.latest(fs, output);
        if (checkpoint == null) {
            throw new BadInputException(
                    "--resume: "
                            + output
                            + " has no complete checkpoint (checkpoints/latest); start without"
                            + " --resume");
        }
        JsonNode state = TrainCheckpoints.readState(fs, checkpoint);
        TrainConfig recorded = TrainConfig.fromJson(state.path("config"));
        List<String> conflicts = recorded.conflicts(given, explicit);
        if (!conflicts.isEmpty()) {
            throw new BadInputException(
                    "--resume continues the recorded run, but "
                            + String.join("; ", conflicts)
                            + "; drop those flags, or start a new run in another --output");
        }
        TrainConfig c = recorded.resumedWith(given, explicit);
        long round = state.path("round").asLong();
        for (int w = 0; w < c.workers(); w++) {
            if (!c.deltaPrecision().equals("fp32")
                    && !fs.isFile(new Path(checkpoint, TrainCheckpoints.deltaErrorFile(w)))) {
                throw new BadInputException(
                        checkpoint
                                + " has no "
                                + TrainCheckpoints.deltaErrorFile(w)
                                + "; the checkpoint is incomplete, resume from an earlier one");
            }
            if (!fs.isFile(new Path(checkpoint, TrainCheckpoints.workerFile(w)))) {
                throw new BadInputException(
                        checkpoint
                                + " has no "
                                + TrainCheckpoints.workerFile(w)
                                + "; the checkpoint is incomplete, resume from an earlier one");
            }
        }
        TrainCheckpoints.removeStaging(fs, output);
        log.printf(
                "train: resuming %s from %s (round %d, %,d tokens)%n",
                output, checkpoint.getName(), round, state.path("tokens").asLong());
        return new Start(
                c,
                round,
                state.path("tokens").asLong(),
                state.path("examples").asLong(),
                state.path("schedule_steps").asLong(),
                state.path("rounds").asLong(),
                // Runs recorded before the data order had a version rotate their epochs.
                state.path("data").path("order").asInt(DataSchedule.ROTATION),
                checkpoint,
                state);
    }

    /** A resumed run must read the data it started with (the same tokenizer and train split). */
    private static void checkSameData(JsonNode state, PreparedDataset dataset, TrainConfig c) {
        String tokenizer = state.path("dataset").path("tokenizer_sha256").asText();
        long examples = state.path("data").path("train_examples").asLong();
        if (!tokenizer.equals(dataset.tokenizerSha256())
                || examples != dataset.numExamples("train")) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " is not the dataset this run started with ("
                            + state.path("dataset").path("path").asText()
                            + ": "
                            + examples
                            + " train examples, tokenizer "
                            + tokenizer.substring(0, Math.min(12, tokenizer.length()))
                            + "…); resume with that --data");
        }
    }

    /** The architecture: a preset or config file adapted to the data, or --init-from's. */
    private static Model initialModel(
            TrainConfig c,
            PreparedDataset dataset,
            Configuration hadoop,
            NDManager manager,
            PrintWriter log)
            throws IOException {
        String objective = objective(c, dataset);
        ModelConfig named =
                c.model() == null ? null : namedModel(c.model(), dataset, objective, hadoop);
        if (c.initFrom() == null) {
            ModelConfig config =
                    named != null
                            ? named
                            : adapt(
                                    ModelConfig.preset(
                                            objective.equals("clm") ? "llama-tiny" : "bert-mini"),
                                    dataset,
                                    objective);
            PretrainingTask task = initialize(config, manager, c.seed());
            return new Model(config, task.parameters(), null);
        }
        ModelWeights weights = readInitFrom(c.initFrom(), hadoop, manager, c.seed(), log);
        if (named != null && !sameArchitecture(named, weights.config())) {
            throw new BadInputException(
                    "--model "
                            + c.model()
                            + " is not the architecture of --init-from "
                            + c.initFrom()
                            + "; drop --model (the architecture comes from --init-from)");
        }
        return new Model(weights.config(), weights.parameters(), null);
    }

    private static PretrainingTask initialize(ModelConfig config, NDManager manager, long seed) {
        long s = dev.lmspark.data.random.Seeds.mix(seed, INIT_STREAM);
        if (config.causal()) {
            return dev.lmspark.model.task.CausalLm.initialize(config, manager, s);
        }
        if (config.architecture().equals("rotary-mlm")) {
            return dev.lmspark.model.task.MaskedLm.initialize(config, manager, s);
        }
        return dev.lmspark.model.task.BertForPretraining.initialize(config, manager, s);
    }

    /** An lmspark checkpoint (or train output) or a Hugging Face folder. */
    private static ModelWeights readInitFrom(
            String location, Configuration hadoop, NDManager manager, long seed, PrintWriter log)
            throws IOException {
        Path path = HadoopPaths.check("--init-from", location);
        FileSystem fs = HadoopPaths.fileSystem(path, hadoop);
        if (!fs.exists(path)) {
            throw new BadInputException(
                    "--init-from "
                            + location
                            + " does not exist; give an lmspark checkpoint, a train output or a"
                            + " Hugging Face model folder");
        }
        boolean lmspark =
                isLmsparkCheckpoint(fs, path) || fs.exists(TrainCheckpoints.directory(path));
        try {
            if (lmspark) {
                Path dir = CheckpointDirectory.resolve("--init-from", path, fs);
                return ModelCheckpoint.read(HadoopFolders.input(fs, dir), manager);
            }
            HuggingFaceFolder.Imported imported =
                    HuggingFaceFolder.read(HadoopFolders.input(fs, path), manager, seed);
            imported.warnings().forEach(w -> log.println("train: --init-from: " + w));
            return imported.weights();
        } catch (IOException e) {
            throw new BadInputException("--init-from " + location + ": " + e.getMessage(), e);
        }
    }

    private static boolean isLmsparkCheckpoint(FileSystem fs, Path dir) throws IOException {
        Path config = new Path(dir, ModelCheckpoint.CONFIG_FILE);
        if (!fs.isFile(config)) {
            return false;
        }
        try (InputStream in = fs.open(config)) {
            return TrainCheckpoints.JSON.readTree(in).has("format_version");
        }
    }

    /** Equal but for vocabulary size and length, which come from the data. */
    private static boolean sameArchitecture(ModelConfig a, ModelConfig b) {
        return a.withVocabSize(1)
                .withMaxPositions(1)
                .equals(b.withVocabSize(1).withMaxPositions(1));
    }

    /** {@code --objective}, else the dataset's. */
    static String objective(TrainConfig c, PreparedDataset dataset) {
        String data = dataset.objective().equals("clm") ? "clm" : "mlm";
        String o = c.objective() == null ? data : c.objective();
        if (!o.equals(data)) {
            throw new BadInputException(
                    "--objective "
                            + o
                            + " does not fit --data "
                            + c.data()
                            + ", a "
                            + dataset.objective()
                            + " dataset; prepare it with --objective "
                            + o
                            + " or train --objective "
                            + data);
        }
        return o;
    }

    /** A preset (vocabulary and length from the data) or a config JSON file (taken as it is). */
    private static ModelConfig namedModel(
            String model, PreparedDataset dataset, String objective, Configuration hadoop)
            throws IOException {
        if (ModelConfig.presetNames().contains(model.toLowerCase(Locale.ROOT))) {
            return adapt(ModelConfig.preset(model), dataset, objective);
        }
        Path path = HadoopPaths.check("--model", model);
        FileSystem fs = HadoopPaths.fileSystem(path, hadoop);
        if (!fs.isFile(path)) {
            throw new BadInputException(
                    "--model "
                            + model
                            + " is neither a preset ("
                            + String.join(", ", ModelConfig.presetNames())
                            + ") nor a config JSON file");
        }
        String json;
        try (InputStream in = fs.open(path)) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try {
            ModelConfig config =
                    json.contains("\"format_version\"")
                            ? ModelCheckpoint.parseConfig(json, model)
                            : ModelConfig.fromJson(json);
            return config;
        } catch (IOException | IllegalArgumentException e) {
            throw new BadInputException("--model " + model + ": " + e.getMessage(), e);
        }
    }

    /** A preset with the data's vocabulary and length, causal for clm. */
    static ModelConfig adapt(ModelConfig preset, PreparedDataset dataset, String objective) {
        ModelConfig c =
                preset.withVocabSize(dataset.vocabSize()).withMaxPositions(dataset.maxLength());
        if (objective.equals("clm") && c.architecture().equals("bert")) {
            c = c.withCausal(true); // a BERT trunk with a causal mask and the BERT LM head
        }
        return c;
    }

    /** One-line refusals of a model that cannot train on this dataset (exit 2). */
    static void checkModelAgainstData(
            TrainConfig c, ModelConfig m, PreparedDataset dataset, PrintWriter log) {
        String objective = objective(c, dataset);
        if (objective.equals("mlm") && m.causal()) {
            throw new BadInputException(
                    "the model is causal ("
                            + m.architecture()
                            + ") but --data "
                            + c.data()
                            + " is an MLM dataset; use a bert-* or rotary-mlm-* model, or a clm"
                            + " dataset");
        }
        if (objective.equals("clm") && !m.causal()) {
            throw new BadInputException(
                    "the model is a masked LM ("
                            + m.architecture()
                            + ") but --data "
                            + c.data()
                            + " is a CLM dataset; use a llama-* or bert-* preset (trained"
                            + " causally), or an mlm dataset");
        }
        if (m.vocabSize() < dataset.vocabSize()) {
            throw new BadInputException(
                    "the model's vocabulary has "
                            + m.vocabSize()
                            + " tokens but --data "
                            + c.data()
                            + "'s tokenizer has "
                            + dataset.vocabSize()
                            + "; use a model with at least that many, or the model's own tokenizer");
        }
        if (m.positions().equals("learned") && m.maxPositions() < dataset.maxLength()) {
            throw new BadInputException(
                    "the model has "
                            + m.maxPositions()
                            + " learned positions but --data "
                            + c.data()
                            + " has rows of "
                            + dataset.maxLength()
                            + " tokens; prepare the data with --max-length "
                            + m.maxPositions()
                            + " or less");
        }
        if (dataset.hasNsp() && !m.architecture().equals("bert")) {
            log.println(
                    "train: warning: --data has next-sentence pairs but "
                            + m.architecture()
                            + " has no NSP head; training MLM only");
        }
    }

    /** Spark setting: the number of shards S of the combine (default 0: 32 MiB of float32 each). */
    public static final String COMBINE_SHARDS = "spark.lmspark.train.combineShards";

    /**
     * Spark setting (default true): each worker keeps a copy of its optimizer state at the start of
     * every round (device memory as large as the state, 8 bytes per parameter), so that a retried
     * attempt on the same executor, or a round whose update was not finite, starts again from it;
     * without it, such a round replays the worker from the last checkpoint.
     */
    public static final String ROUND_START_COPY = "spark.lmspark.train.roundStartCopy";

    /** A resumed checkpoint's parameters and outer momentum, on {@code manager}. */
    private static Model resumedModel(
            FileSystem fs, Path checkpoint, TrainConfig c, NDManager manager) throws IOException {
        ModelWeights w = ModelCheckpoint.read(HadoopFolders.input(fs, checkpoint), manager);
        Map<String, NDArray> momentum = null;
        try (InputStream in = fs.open(new Path(checkpoint, TrainCheckpoints.OPTIMIZER_FILE))) {
            Map<String, NDArray> outer = OptimizerCheckpoint.read(c.outerOptimizer(), in, manager);
            if (!outer.isEmpty()) {
                momentum = outer;
            }
        }
        return new Model(w.config(), w.parameters(), momentum);
    }

    private static Result train(
            SparkSession spark,
            TrainConfig c,
            PreparedDataset dataset,
            Model model,
            Start start,
            FileSystem fs,
            Path output,
            StopSignal stop,
            PrintWriter log,
            long started)
            throws IOException {
        SparkContext sc = spark.sparkContext();
        long examples = dataset.numExamples("train");
        DataSchedule data =
                DataSchedule.of(
                        dataset,
                        c.workers(),
                        c.examplesPerWorkerRound(),
                        c.seed(),
                        start.dataOrder);
        double tokensPerRow = (double) dataset.numTokens("train") / examples;
        long rounds;
        long scheduleSteps;
        if (start.round > 0) {
            rounds = c.rounds() > 0 ? c.rounds() : start.rounds;
            scheduleSteps = start.scheduleSteps;
        } else {
            rounds = plannedRounds(c, data, tokensPerRow);
            scheduleSteps = rounds * c.localSteps();
        }
        if (c.rounds() == 0 && start.round > 0 && c.maxTokens() > 0) {
            rounds = Math.max(rounds, plannedRounds(c, data, tokensPerRow));
        }
        LearningRateSchedule schedule =
                new LearningRateSchedule(
                        c.scheduleKind(),
                        c.lr() * c.innerLrScale(),
                        c.warmupSteps(),
                        scheduleSteps);
        if (c.scheduleKind() != LearningRateSchedule.Kind.CONSTANT
                && rounds * c.localSteps() > scheduleSteps) {
            log.printf(
                    "train: warning: the %s schedule ends at step %,d, where this run started it;"
                            + " rounds past it train at learning rate 0 (a run meant to be extended"
                            + " uses --lr-schedule constant)%n",
                    c.lrSchedule(), scheduleSteps);
        }
        int threads = threads(sc);
        String runId = UUID.randomUUID().toString();
        SerializableConfiguration hadoop = new SerializableConfiguration(sc.hadoopConfiguration());
        ShardLayout layout = ShardLayout.of(model.config, sc.conf().getInt(COMBINE_SHARDS, 0));
        GlobalShards shards = new GlobalShards(output, layout, hadoop);
        // The run's starting parameters become the shards of its start round; the driver keeps
        // none of them.
        GlobalShards.deleteAll(fs, output);
        shards.publish(start.round, GlobalShards.Kind.PARAMS, model.params);
        if (model.momentum != null) {
            shards.publish(start.round, GlobalShards.Kind.MOMENTUM, model.momentum);
        }
        model.params.values().forEach(NDArray::close);
        if (model.momentum != null) {
            model.momentum.values().forEach(NDArray::close);
        }
        RunSpec spec =
                new RunSpec(
                        runId,
                        c,
                        model.config,
                        dataset,
                        data,
                        schedule,
                        threads,
                        hadoop,
                        sc.conf().getBoolean(ROUND_START_COPY, true));
        TokenizerSource tokenizer =
                TokenizerSource.read(dataset.tokenizerPath(), false, sc.hadoopConfiguration());
        MetricsLog metrics =
                start.round > 0
                        ? MetricsLog.resume(fs, output, start.round)
                        : MetricsLog.start(fs, output);
        log.printf(
                "train: %s, %,d parameters, %d worker(s) × %d local steps × %d × %d rows per"
                        + " round, %d round(s) (%s schedule over %,d steps, peak inner lr %.3g%s),"
                        + " %d thread(s) per worker, combine in %d shard(s), output %s%n",
                describe(model.config),
                layout.size(),
                c.workers(),
                c.localSteps(),
                c.gradAccum(),
                c.batchSize(),
                rounds,
                c.lrSchedule(),
                scheduleSteps,
                schedule.baseLr(),
                c.innerLrScale() == 1 ? "" : String.format(" = --lr × √%d", c.workers()),
                threads,
                layout.shards(),
                output);
        TrainingMaster.Setup setup =
                new TrainingMaster.Setup(
                        spark,
                        c,
                        dataset,
                        model.config,
                        spec,
                        shards,
                        fs,
                        output,
                        metrics,
                        new CheckpointWriter(
                                JavaSparkContext.fromSparkContext(sc),
                                fs,
                                output,
                                model.config,
                                tokenizer,
                                dataset),
                        start.round,
                        start.checkpoint == null ? null : start.checkpoint.toString(),
                        start.tokens,
                        start.examples,
                        rounds,
                        scheduleSteps,
                        started);
        return new TrainingMaster(setup, stop, log).run();
    }

    /** --rounds, else enough for --max-tokens, else one epoch. */
    private static long plannedRounds(TrainConfig c, DataSchedule data, double tokensPerRow) {
        if (c.rounds() > 0) {
            return c.rounds();
        }
        if (c.maxTokens() > 0) {
            double perRound = tokensPerRow * c.workers() * c.examplesPerWorkerRound();
            return Math.max(1, (long) Math.ceil(c.maxTokens() / perRound));
        }
        return Math.max(
                1,
                (data.blockSize() + c.examplesPerWorkerRound() - 1) / c.examplesPerWorkerRound());
    }

    /**
     * local[N]: N threads per worker (workers take turns), at most one per core; a cluster:
     * spark.task.cpus.
     */
    static int threads(SparkContext sc) {
        if (sc.isLocal()) {
            return Math.max(
                    1,
                    Math.min(sc.defaultParallelism(), Runtime.getRuntime().availableProcessors()));
        }
        return Math.max(1, sc.conf().getInt("spark.task.cpus", 1));
    }

    static void requireValidation(PreparedDataset dataset, TrainConfig c) {
        if (!dataset.hasSplit("validation") || dataset.numExamples("validation") == 0) {
            throw new BadInputException(
                    "--eval-every needs a validation split, and --data "
                            + c.data()
                            + " has none; prepare it with --validation-fraction above 0");
        }
    }

    static String describe(ModelConfig m) {
        return String.format(
                "%s%s (%d layers, hidden %d, %d heads, vocabulary %,d, length %d)",
                m.architecture(),
                m.causal() && m.architecture().equals("bert") ? " causal" : "",
                m.numLayers(),
                m.hiddenSize(),
                m.numHeads(),
                m.vocabSize(),
                m.maxPositions());
    }
}
