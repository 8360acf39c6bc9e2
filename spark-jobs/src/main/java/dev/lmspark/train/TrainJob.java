package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.Provenance;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.model.train.StepResult;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;

/**
 * {@code train}: distributed pretraining with parameter averaging (the driver side, in the manner
 * of Deeplearning4j's ParameterAveragingTrainingMaster, with DiLoCo's outer optimizer).
 *
 * <p>Each round r: the global parameters are broadcast; one Spark task per worker maps the worker's
 * state (its inner AdamW, the previous round's output in the block manager) to a new state and a
 * result ({@link Worker}); the results are collected in worker order, their deltas combined
 * token-weighted in that fixed order and applied by the {@link OuterOptimizer}. The round's output
 * RDD is locally checkpointed, so lineage never grows and the next round's task for a worker
 * prefers the executor that holds its state. Checkpoints, metrics and resume follow
 * docs/checkpoint-format.md and docs/metrics.md.
 */
public final class TrainJob {
    static final long INIT_STREAM = 0x696e697400000001L;

    /**
     * Test hook (a job-local property, or {@code spark.}-prefixed setting): {@code
     * worker=W,round=R,afterSteps=K} fails the first attempt of that task after K local steps.
     */
    public static final String FAIL_ONCE = "lmspark.test.failOnce";

    /**
     * Spark setting: driver memory (bytes, or with a unit: 512m, 2g) for the global parameters of
     * the rounds since the last checkpoint, which exact recovery of a lost worker replays (default:
     * an eighth of the driver's heap). Past it a lost worker's optimizer state is reset to the last
     * checkpoint's instead, with a warning.
     */
    public static final String REPLAY_MEMORY = "spark.lmspark.train.replayMemory";

    /** The job group of the rounds' jobs, which a stop signal cancels. */
    static final String ROUND_JOB_GROUP = "lmspark-train-round";

    /** Recoveries of lost worker states in a row before a round's failure ends the run. */
    static final int MAX_RECOVERIES = 3;

    /** Rounds in a row with a non-finite worker before the run stops. */
    static final int MAX_BAD_ROUNDS = 3;

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
                Model model = resume ? start.model : initialModel(c, dataset, hadoop, manager, log);
                checkModelAgainstData(c, model.config, dataset, log);
                // The data's own refusals, also before --output is touched.
                new DataSchedule(
                        dataset.numExamples("train"),
                        c.workers(),
                        c.examplesPerWorkerRound(),
                        c.seed());
                if (c.evalEvery() > 0) {
                    requireValidation(dataset, c);
                }
                if (!resume) {
                    // Only now that every input is checked: a refused run leaves --output as it
                    // was (an earlier run in it included).
                    clearOutput(fs, output);
                }
                return train(
                        spark, c, dataset, model, start, fs, output, manager, stop, log, started);
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
            Path checkpoint,
            Model model,
            JsonNode state) {}

    /** The model being trained: its config, parameters and (resumed) outer momentum. */
    private record Model(ModelConfig config, Parameters params, Parameters momentum) {}

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
        return new Start(c, 0, 0, 0, 0, 0, null, null, null);
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
        NDManager manager = NDManager.newBaseManager(Devices.forTask(null).cpu(), Devices.ENGINE);
        Model model;
        try {
            ModelWeights w = ModelCheckpoint.read(HadoopFolders.input(fs, checkpoint), manager);
            Parameters momentum = null;
            try (InputStream in = fs.open(new Path(checkpoint, TrainCheckpoints.OPTIMIZER_FILE))) {
                Map<String, NDArray> outer =
                        OptimizerCheckpoint.read(c.outerOptimizer(), in, manager);
                if (!outer.isEmpty()) {
                    // In the parameters' order (the file keeps its own).
                    Map<String, NDArray> ordered = new LinkedHashMap<>();
                    w.parameters().keySet().forEach(name -> ordered.put(name, outer.get(name)));
                    momentum = Parameters.of(ordered);
                }
            }
            model = new Model(w.config(), Parameters.of(w.parameters()), momentum);
        } finally {
            manager.close();
        }
        for (int w = 0; w < c.workers(); w++) {
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
                checkpoint,
                model,
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
            return new Model(config, Parameters.of(task.parameters()), null);
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
        return new Model(weights.config(), Parameters.of(weights.parameters()), null);
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

    private static Result train(
            SparkSession spark,
            TrainConfig c,
            PreparedDataset dataset,
            Model model,
            Start start,
            FileSystem fs,
            Path output,
            NDManager manager,
            StopSignal stop,
            PrintWriter log,
            long started)
            throws IOException {
        SparkContext sc = spark.sparkContext();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
        long examples = dataset.numExamples("train");
        DataSchedule data =
                new DataSchedule(examples, c.workers(), c.examplesPerWorkerRound(), c.seed());
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
        RunSpec spec =
                new RunSpec(
                        runId,
                        c,
                        model.config,
                        dataset,
                        data,
                        schedule,
                        threads,
                        new SerializableConfiguration(sc.hadoopConfiguration()),
                        failOnce(sc));
        OuterOptimizer outer =
                new OuterOptimizer(c.outerOptimizer(), c.outerLr(), c.outerMomentum());
        outer.setMomentumBuffer(model.momentum);
        Parameters global = model.params;
        TokenizerSource tokenizer =
                TokenizerSource.read(dataset.tokenizerPath(), false, sc.hadoopConfiguration());

        MetricsLog metrics =
                start.round > 0
                        ? MetricsLog.resume(fs, output, start.round)
                        : MetricsLog.start(fs, output);
        log.printf(
                "train: %s, %,d parameters, %d worker(s) × %d local steps × %d × %d rows per"
                        + " round, %d round(s) (%s schedule over %,d steps, peak inner lr %.3g%s),"
                        + " %d thread(s) per worker, output %s%n",
                describe(model.config),
                global.count(),
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
                output);

        JavaRDD<WorkerState> states = initialStates(jsc, c, start, fs);
        long plannedRounds = rounds;
        Checkpointer checkpoints =
                (workerStates, params, r, trained, trainedRows) ->
                        checkpoint(
                                jsc,
                                fs,
                                output,
                                workerStates,
                                c,
                                model.config,
                                params,
                                outer,
                                tokenizer,
                                dataset,
                                manager,
                                r,
                                plannedRounds,
                                scheduleSteps,
                                trained,
                                trainedRows,
                                runId,
                                started);
        Double firstEval = null;
        Double lastEval = null;
        if (c.evalEvery() > 0 && start.round == 0) {
            Evaluator.Metrics m = evaluate(spark, dataset, model.config, global, c, threads, 0);
            ObjectNode record = TrainCheckpoints.JSON.createObjectNode();
            record.put("round", 0);
            record.put("step", 0);
            record.put("tokens", 0);
            record.put("loss", m.loss());
            record.put("lr", schedule.at(0));
            addEval(record, m);
            metrics.append(record);
            firstEval = m.loss();
            lastEval = m.loss();
            log.printf("train: round 0/%d  validation loss %.4f%n", rounds, m.loss());
        } else {
            for (JsonNode r : metrics.records()) {
                if (r.has("eval_loss")) {
                    if (firstEval == null) {
                        firstEval = r.path("eval_loss").asDouble();
                    }
                    lastEval = r.path("eval_loss").asDouble();
                }
            }
        }

        long tokens = start.tokens;
        long rows = start.examples;
        long bytesRead = 0;
        double bytesPerRow = trainBytes(dataset) / (double) examples;
        long round = start.round;
        long checkpointed = start.round;
        double lastLoss = Double.NaN;
        JavaRDD<WorkerRound> previous = null;
        long loopStart = System.nanoTime();
        long firstRound = start.round + 1;
        String published = start.checkpoint == null ? null : start.checkpoint.toString();
        Map<Integer, String> homes = new LinkedHashMap<>();
        boolean untilTokens = c.rounds() == 0 && c.maxTokens() > 0;
        Replay replay =
                new Replay(
                        start.round,
                        published,
                        sc.conf()
                                .getSizeAsBytes(
                                        REPLAY_MEMORY,
                                        Long.toString(Runtime.getRuntime().maxMemory() / 8)),
                        global.count() * Float.BYTES);
        int recoveries = 0;
        int badRounds = 0;
        Path recoveryFiles = null;
        Set<Integer> droppedBefore = Set.of();
        while ((round < rounds || untilTokens) && (c.maxTokens() == 0 || tokens < c.maxTokens())) {
            if (stop.requested()) {
                break;
            }
            round++;
            // --max-tokens alone planned its rounds from the average row; the run ends at the
            // tokens, a round or two either side.
            rounds = Math.max(rounds, round);
            long roundStart = System.nanoTime();
            replay.roundStarts(round, global);
            RoundParameters params = new RoundParameters(jsc.broadcast(global), round);
            long jobStart = System.nanoTime();
            final long r = round;
            JavaRDD<WorkerRound> out =
                    states.mapPartitions(
                            it ->
                                    List.of(Worker.run(it.next(), params.value(), spec, r))
                                            .iterator(),
                            true);
            out.persist(StorageLevel.MEMORY_AND_DISK());
            out.rdd().localCheckpoint();
            sc.setJobGroup(
                    ROUND_JOB_GROUP,
                    String.format("lmspark train round %d/%d", round, rounds),
                    false);
            List<WorkerResult> results;
            try {
                results = await(out.map(WorkerRound::result).collectAsync(), stop);
            } catch (Exception e) {
                // Spark throws its checked SparkException undeclared.
                sc.clearJobGroup();
                out.unpersist(false);
                params.release();
                round--;
                if (stop.requested()) {
                    break;
                }
                if (isBadInput(e)) {
                    // The user's (exit 2), e.g. a shard that is not the dataset's.
                    throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
                }
                Recovery recovered = null;
                if (++recoveries <= MAX_RECOVERIES) {
                    sc.setJobGroup(
                            ROUND_JOB_GROUP,
                            "lmspark train: recover before round " + (round + 1),
                            false);
                    try {
                        recovered =
                                recover(
                                        jsc,
                                        states,
                                        replay,
                                        spec,
                                        fs,
                                        output,
                                        round + 1,
                                        c.workers(),
                                        log);
                    } finally {
                        sc.clearJobGroup();
                    }
                }
                if (recovered == null) {
                    throw new TrainStoppedException(
                            String.format(
                                    "round %d failed: %s%s. %s",
                                    round + 1,
                                    taskError(e),
                                    outOfMemory(e)
                                            ? " (an executor ran out of heap: raise"
                                                    + " spark.executor.memory)"
                                            : "",
                                    published == null
                                            ? "Nothing was published yet: once the cause is fixed,"
                                                    + " start the run again with --overwrite"
                                            : "The last published checkpoint is "
                                                    + published
                                                    + "; once the cause is fixed, continue with"
                                                    + " --resume"),
                            1,
                            e);
                }
                deleteQuietly(fs, recoveryFiles);
                recoveryFiles = recovered.files();
                states = recovered.states();
                continue;
            }
            recoveries = 0;
            long jobEnd = System.nanoTime();
            sc.clearJobGroup();
            // The round's output now holds every state: the recovery files served their round.
            deleteQuietly(fs, recoveryFiles);
            recoveryFiles = null;
            states = out.map(WorkerRound::state);
            if (previous != null) {
                previous.unpersist(false);
            }
            previous = out;
            params.release();

            List<Parameters> deltas = new ArrayList<>();
            List<Long> workerTokens = new ArrayList<>();
            Map<String, StepResult.TermSum> terms = new LinkedHashMap<>();
            long roundTokens = 0;
            long roundRows = 0;
            double slowest = 0;
            double lr = 0;
            List<Integer> dropped = new ArrayList<>();
            for (WorkerResult w : results) {
                slowest = Math.max(slowest, w.seconds());
                bytesRead += w.bytesRead();
                lr = w.lastLr();
                if (!w.finite()) {
                    dropped.add(w.worker());
                    log.printf(
                            "train: warning: worker %d's loss or update was not finite in round %d"
                                    + " (%s); its update is dropped and its optimizer state rolled"
                                    + " back to the start of the round%n",
                            w.worker(), round, describeTerms(w.terms()));
                    continue;
                }
                deltas.add(w.delta());
                workerTokens.add(w.tokens());
                w.terms().forEach(t -> terms.merge(t.name(), t, StepResult.TermSum::plus));
                roundTokens += w.tokens();
                roundRows += w.examples();
                String home = homes.put(w.worker(), w.executor());
                if (w.restored() && round > firstRound && !droppedBefore.contains(w.worker())) {
                    log.printf(
                            "train: worker %d's state was restored on executor %s%s in round %d"
                                    + " (a retried or moved task)%n",
                            w.worker(),
                            w.executor(),
                            home != null && !home.equals(w.executor())
                                    ? " (it ran on executor " + home + " before)"
                                    : "",
                            round);
                }
            }
            long aggregateStart = System.nanoTime();
            RoundTelemetry.Deltas spread = null;
            long outerStart;
            double updateNorm = 0;
            if (deltas.isEmpty()) {
                // Every worker's round was non-finite: the global parameters stay as they were.
                outerStart = System.nanoTime();
            } else {
                float[][] combined =
                        OuterOptimizer.weightedSum(
                                deltas, workerTokens.stream().mapToLong(Long::longValue).toArray());
                spread = RoundTelemetry.deltas(deltas);
                outerStart = System.nanoTime();
                Parameters before = global;
                global = outer.step(global, combined);
                updateNorm = global.minus(before).norm();
            }
            long outerEnd = System.nanoTime();
            badRounds = dropped.isEmpty() ? 0 : badRounds + 1;
            droppedBefore = Set.copyOf(dropped);
            if (round == firstRound) {
                // Once the first round ran, the executors have registered.
                warnAboutSlots(sc, c.workers(), log);
            }
            tokens += roundTokens;
            rows += roundRows;
            double roundSeconds = (System.nanoTime() - roundStart) / 1e9;
            // NaN when every worker's round was dropped: no loss to report.
            double loss = terms.isEmpty() ? Double.NaN : 0;
            for (StepResult.TermSum t : terms.values()) {
                loss += t.mean();
            }
            if (!terms.isEmpty()) {
                lastLoss = loss;
            }
            boolean last =
                    (c.maxTokens() > 0 && tokens >= c.maxTokens())
                            || (!untilTokens && round == rounds);

            ObjectNode record = TrainCheckpoints.JSON.createObjectNode();
            record.put("round", round);
            record.put("step", round * c.localSteps());
            record.put("tokens", tokens);
            record.put("examples", rows);
            if (terms.isEmpty()) {
                record.putNull("loss");
            } else {
                record.put("loss", loss);
            }
            terms.values().forEach(t -> record.put(t.name() + "_loss", t.mean()));
            record.put("lr", lr);
            record.put("epoch", (double) (round * c.examplesPerWorkerRound()) / data.blockSize());
            record.put("tokens_per_s", roundTokens / roundSeconds);
            // Shard bytes read against the bytes of the rows trained on, since this invocation
            // started (a resumed run re-reads the row groups it is in the middle of).
            record.put("bytes_read", bytesRead);
            record.put("bytes_trained", Math.round((rows - start.examples) * bytesPerRow));
            record.put("round_s", roundSeconds);
            record.put("compute_s", slowest);
            record.put("broadcast_s", (jobStart - roundStart) / 1e9);
            record.put("job_s", (jobEnd - jobStart) / 1e9);
            record.put("aggregate_s", (outerStart - aggregateStart) / 1e9);
            record.put("outer_s", (outerEnd - outerStart) / 1e9);
            ArrayNode workerSeconds = record.putArray("worker_compute_s");
            // results come in partition order, which is worker-id order (as for the deltas).
            results.forEach(w -> workerSeconds.add(w.seconds()));
            if (results.stream().allMatch(w -> w.rssBytes() >= 0)) {
                ArrayNode rss = record.putArray("worker_rss_mb");
                results.forEach(w -> rss.add(Math.round(w.rssBytes() / 1048576.0 * 10) / 10.0));
            }
            ArrayNode deltaNorms = record.putArray("worker_delta_norm");
            int good = 0;
            for (WorkerResult w : results) {
                if (w.finite()) {
                    deltaNorms.add(spread.norms()[good++]);
                } else {
                    deltaNorms.addNull();
                }
            }
            if (deltas.size() > 1) {
                record.put("agreement", spread.meanPairwiseCosine());
            }
            if (!dropped.isEmpty()) {
                ArrayNode d = record.putArray("dropped_workers");
                dropped.forEach(d::add);
            }
            record.put("update_norm", updateNorm);
            record.put("elapsed_s", (System.nanoTime() - started) / 1e9);
            String evalNote = "";
            if (c.evalEvery() > 0 && (round % c.evalEvery() == 0 || last)) {
                long evalStart = System.nanoTime();
                Evaluator.Metrics m =
                        evaluate(spark, dataset, model.config, global, c, threads, round);
                record.put("eval_s", (System.nanoTime() - evalStart) / 1e9);
                addEval(record, m);
                if (firstEval == null) {
                    firstEval = m.loss();
                }
                lastEval = m.loss();
                evalNote = String.format("  validation %.4f", m.loss());
            }
            record.put("checkpoint_s", 0.0);
            metrics.append(record);

            boolean giveUp = badRounds >= MAX_BAD_ROUNDS;
            if (last || giveUp || (c.checkpointEvery() > 0 && round % c.checkpointEvery() == 0)) {
                long checkpointStart = System.nanoTime();
                published = checkpoints.write(states, global, round, tokens, rows).toString();
                checkpointed = round;
                replay.checkpointed(round, published);
                // The record went out first, so a checkpoint never names a round the log lacks.
                record.put("checkpoint_s", (System.nanoTime() - checkpointStart) / 1e9);
                metrics.replaceLast(record);
            }
            if (giveUp) {
                throw new TrainStoppedException(
                        String.format(
                                "stopped: %d rounds in a row (%d–%d) had a non-finite loss or"
                                        + " update; checkpoint %s holds the last finite state"
                                        + " (bad updates dropped). Lower --lr or set --clip-norm,"
                                        + " then start a new run with --init-from %s",
                                badRounds, round - badRounds + 1, round, published, published),
                        1,
                        null);
            }
            double elapsed = (System.nanoTime() - loopStart) / 1e9;
            double eta = elapsed / (round - start.round) * (rounds - round);
            log.printf(
                    "train: round %d/%d  loss %.4f%s  lr %.2e  %,.0f tokens/s  elapsed %s  ETA %s%s%n",
                    round,
                    rounds,
                    loss,
                    termsNote(terms),
                    lr,
                    roundTokens / roundSeconds,
                    clock(elapsed),
                    clock(eta),
                    evalNote);
        }
        boolean finished =
                (c.maxTokens() > 0 && tokens >= c.maxTokens()) || (!untilTokens && round >= rounds);
        if (round > checkpointed) {
            try {
                published = checkpoints.write(states, global, round, tokens, rows).toString();
            } catch (IOException | RuntimeException e) {
                if (!stop.requested()) {
                    throw e;
                }
                // E.g. the executors holding the states died with the driver's pod.
                throw new TrainStoppedException(
                        String.format(
                                "stopped by %s after round %d of %d, but its checkpoint could not"
                                        + " be written (%s); %s",
                                stop.signal(),
                                round,
                                rounds,
                                taskError(e),
                                published == null
                                        ? "nothing was published: start the run again with"
                                                + " --overwrite"
                                        : "continue from the last published one, "
                                                + published
                                                + ", with: lmspark train --data "
                                                + c.data()
                                                + " --output "
                                                + c.output()
                                                + " --resume"),
                        StopSignal.exitStatus(stop.signal()),
                        e);
            }
        }
        if (previous != null) {
            previous.unpersist(false);
        }
        release(jsc, runId);
        if (stop.requested() && !finished) {
            throw new TrainStoppedException(
                    published == null
                            ? String.format(
                                    "stopped by %s before round 1 completed; nothing was"
                                            + " published: start the run again with --overwrite",
                                    stop.signal())
                            : String.format(
                                    "stopped by %s after round %d of %d; checkpoint %s is"
                                            + " published. Continue with: lmspark train --data %s"
                                            + " --output %s --resume",
                                    stop.signal(), round, rounds, published, c.data(), c.output()),
                    StopSignal.exitStatus(stop.signal()),
                    null);
        }
        return new Result(
                output.toString(),
                firstRound,
                round,
                round * c.localSteps(),
                tokens,
                firstEval,
                lastEval,
                lastLoss,
                published,
                (System.nanoTime() - started) / 1e9);
    }

    /**
     * What exact recovery of a lost worker needs: the last checkpoint (whose worker files hold the
     * optimizer states at its round; none before the first: the run's starting states) and the
     * global parameters each round since then started from, kept on the driver within {@link
     * #REPLAY_MEMORY}.
     */
    private static final class Replay {
        private final long capBytes;
        private final long bytesPerRound;
        private final List<Parameters> starts = new ArrayList<>();
        long baseRound;
        String baseCheckpoint;
        boolean complete = true;

        Replay(long baseRound, String baseCheckpoint, long capBytes, long bytesPerRound) {
            this.baseRound = baseRound;
            this.baseCheckpoint = baseCheckpoint;
            this.capBytes = capBytes;
            this.bytesPerRound = bytesPerRound;
        }

        void roundStarts(long round, Parameters global) {
            if (!complete || starts.size() >= round - baseRound) {
                return; // out of memory budget, or a round rerun after a recovery
            }
            if ((starts.size() + 1) * bytesPerRound > capBytes) {
                starts.clear();
                complete = false;
                return;
            }
            starts.add(global);
        }

        void checkpointed(long round, String checkpoint) {
            baseRound = round;
            baseCheckpoint = checkpoint;
            starts.clear();
            complete = true;
        }

        /** The global parameters round {@code round} started from. */
        Parameters start(long round) {
            return starts.get((int) (round - baseRound - 1));
        }
    }

    /** Every worker's state for a round rerun after a recovery, and the files that hold them. */
    private record Recovery(JavaRDD<WorkerState> states, Path files) {}

    /**
     * After round {@code round}'s job failed: if some workers' states from the round before are
     * gone (their executor died, and its blocks with it), rebuilds them — exactly, by replaying the
     * rounds since the last checkpoint from its worker files with the kept global parameters; or,
     * when those were not kept, by resetting them to the checkpoint's states with a warning — and
     * returns every worker's state, ready for the round to run again. Null when no state was lost
     * (the failure was something else).
     *
     * <p>The states never pass through the driver (they are as large as two copies of the model):
     * each executor writes the states it holds, and the replay writes the rebuilt ones, into a
     * hidden folder beside the checkpoints ({@code .round-NNNNNN.recovery-<uuid>}, removed once the
     * round has run, or by the next start), and the round's tasks read them from there.
     */
    private static Recovery recover(
            JavaSparkContext jsc,
            JavaRDD<WorkerState> states,
            Replay replay,
            RunSpec spec,
            FileSystem fs,
            Path output,
            long round,
            int workers,
            PrintWriter log)
            throws IOException {
        Path files =
                new Path(
                        TrainCheckpoints.directory(output),
                        "." + TrainCheckpoints.name(round) + ".recovery-" + UUID.randomUUID());
        fs.mkdirs(files);
        String dir = files.toString();
        var hadoop = new SerializableConfiguration(jsc.hadoopConfiguration());
        JavaRDD<Long> saved =
                states.map(
                        s -> {
                            writeState(hadoop, dir, s);
                            return s.round();
                        });
        long[] rounds = new long[workers];
        List<Integer> lost = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            try {
                rounds[w] = saved.collectPartitions(new int[] {w})[0].get(0);
            } catch (Exception e) { // SparkException, undeclared: the partition is gone
                lost.add(w);
            }
        }
        if (lost.isEmpty()) {
            fs.delete(files, true);
            return null;
        }
        String base = replay.baseCheckpoint;
        long baseRound = replay.baseRound;
        String from = base == null ? "the run's start" : "checkpoint round " + baseRound;
        // Without the kept parameters only a checkpoint of the round just before is exact.
        boolean exact = replay.complete || round - 1 == baseRound;
        List<RoundParameters> history = new ArrayList<>();
        if (exact) {
            for (long r = baseRound + 1; r < round; r++) {
                history.add(new RoundParameters(jsc.broadcast(replay.start(r)), r));
            }
        }
        try {
            jsc.parallelize(lost, lost.size())
                    .foreach(
                            w -> {
                                byte[] bytes =
                                        base == null
                                                ? new byte[0]
                                                : TrainCheckpoints.readWorkerState(
                                                        hadoop.value(), base, w);
                                WorkerState s = new WorkerState(w, baseRound, bytes);
                                for (RoundParameters p : history) {
                                    s = Worker.run(s, p.value(), spec, p.round()).state();
                                }
                                writeState(hadoop, dir, s);
                            });
        } finally {
            history.forEach(RoundParameters::release);
        }
        for (int w : lost) {
            rounds[w] = exact ? round - 1 : baseRound;
        }
        if (exact) {
            log.printf(
                    "train: worker(s) %s lost their optimizer state with their executor before"
                            + " round %d; recomputed exactly from %s (%d round(s) replayed)%n",
                    lost, round, from, round - 1 - baseRound);
        } else {
            for (int w : lost) {
                log.printf(
                        "train: warning: worker %d's optimizer state was lost with its executor"
                                + " before round %d; reset to its state at %s (exact recovery"
                                + " needs the global parameters of every round since, more than"
                                + " %s allows)%n",
                        w, round, from, REPLAY_MEMORY);
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            ids.add(w);
        }
        JavaRDD<WorkerState> restored =
                jsc.parallelize(ids, workers)
                        .map(
                                w ->
                                        new WorkerState(
                                                w,
                                                rounds[w],
                                                TrainCheckpoints.readWorkerState(
                                                        hadoop.value(), dir, w)));
        return new Recovery(restored, files);
    }

    /** Writes a worker's state as {@code dir/workers/worker-NNNNN.safetensors}. */
    private static void writeState(SerializableConfiguration hadoop, String dir, WorkerState s)
            throws IOException {
        TrainCheckpoints.writeWorkerState(hadoop.value(), dir, s.worker(), s.optimizer());
    }

    /** The test hook of {@link RunSpec#failOnce}: a job-local property, else a Spark setting. */
    private static String failOnce(SparkContext sc) {
        String local = sc.getLocalProperty(FAIL_ONCE);
        return local != null ? local : sc.conf().get("spark." + FAIL_ONCE, null);
    }

    /** The train split's shard bytes. */
    private static long trainBytes(PreparedDataset dataset) {
        long n = 0;
        for (PreparedDataset.Shard s : dataset.shards("train")) {
            n += s.bytes();
        }
        return n;
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

    private static void warnAboutSlots(SparkContext sc, int workers, PrintWriter log) {
        int slots;
        if (sc.isLocal()) {
            slots = sc.defaultParallelism();
        } else {
            int executors = Math.max(1, sc.getExecutorMemoryStatus().size() - 1);
            int cores = sc.conf().getInt("spark.executor.cores", 1);
            slots =
                    executors
                            * Math.max(
                                    1, cores / Math.max(1, sc.conf().getInt("spark.task.cpus", 1)));
        }
        if (workers > slots) {
            log.printf(
                    "train: warning: --workers %d is more than the %d task slot(s) Spark has now;"
                            + " workers will wait for each other every round%n",
                    workers, slots);
        }
    }

    /** Round 0 states: none yet, or a resumed checkpoint's (read by the executors). */
    private static JavaRDD<WorkerState> initialStates(
            JavaSparkContext jsc, TrainConfig c, Start start, FileSystem fs) {
        List<Integer> ids = new ArrayList<>();
        for (int w = 0; w < c.workers(); w++) {
            ids.add(w);
        }
        long round = start.round;
        if (start.checkpoint == null) {
            return jsc.parallelize(ids, c.workers())
                    .map(w -> new WorkerState(w, round, new byte[0]));
        }
        String dir = start.checkpoint.toString();
        var hadoop = new SerializableConfiguration(jsc.hadoopConfiguration());
        return jsc.parallelize(ids, c.workers())
                .map(
                        w ->
                                new WorkerState(
                                        w,
                                        round,
                                        TrainCheckpoints.readWorkerState(hadoop.value(), dir, w)));
    }

    private static void requireValidation(PreparedDataset dataset, TrainConfig c) {
        if (!dataset.hasSplit("validation") || dataset.numExamples("validation") == 0) {
            throw new BadInputException(
                    "--eval-every needs a validation split, and --data "
                            + c.data()
                            + " has none; prepare it with --validation-fraction above 0");
        }
    }

    private static Evaluator.Metrics evaluate(
            SparkSession spark,
            PreparedDataset dataset,
            ModelConfig model,
            Parameters global,
            TrainConfig c,
            int threads,
            long round) {
        requireValidation(dataset, c);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Parameters> params = jsc.broadcast(global);
        spark.sparkContext().setJobDescription("lmspark train: evaluate round " + round);
        try {
            int evalThreads = spark.sparkContext().isLocal() ? 1 : threads;
            return Evaluator.run(
                    spark, dataset, "validation", model, params, c.evalBatchSize(), evalThreads);
        } finally {
            spark.sparkContext().setJobDescription(null);
            params.destroy();
        }
    }

    private static void addEval(ObjectNode record, Evaluator.Metrics m) {
        record.put("eval_loss", m.loss());
        m.toJson().fields().forEachRemaining(e -> record.set("eval_" + e.getKey(), e.getValue()));
    }

    /** Writes a checkpoint of the run at the end of a round; see {@link #checkpoint}. */
    @FunctionalInterface
    private interface Checkpointer {
        Path write(
                JavaRDD<WorkerState> states, Parameters global, long round, long tokens, long rows)
                throws IOException;
    }

    /**
     * Writes round {@code round}'s checkpoint into a staging directory — the model, the outer
     * optimizer, the tokenizer and, by a Spark job on the executors holding them, every worker's
     * inner optimizer state — then trainer_state.json with every file's hash, then publishes it.
     */
    private static Path checkpoint(
            JavaSparkContext jsc,
            FileSystem fs,
            Path output,
            JavaRDD<WorkerState> states,
            TrainConfig c,
            ModelConfig config,
            Parameters global,
            OuterOptimizer outer,
            TokenizerSource tokenizer,
            PreparedDataset dataset,
            NDManager manager,
            long round,
            long rounds,
            long scheduleSteps,
            long tokens,
            long rows,
            String runId,
            long started)
            throws IOException {
        Path staging = TrainCheckpoints.staging(fs, output, round);
        Map<String, TrainCheckpoints.FileHash> files = new java.util.TreeMap<>();
        try (NDManager scratch = manager.newSubManager()) {
            ModelCheckpoint.write(
                    new ModelWeights(config, global.toArrays(scratch)),
                    TrainCheckpoints.hashing(fs, staging, "", files));
            Map<String, NDArray> outerState = new LinkedHashMap<>();
            if (outer.momentumBuffer() != null) {
                outerState.putAll(outer.momentumBuffer().toArrays(scratch));
            }
            try (OutputStream s =
                    TrainCheckpoints.hashing(fs, staging, "", files)
                            .create(TrainCheckpoints.OPTIMIZER_FILE)) {
                OptimizerCheckpoint.write(outer.kind(), outerState, s);
            }
        }
        var tokenizerFolder =
                TrainCheckpoints.hashing(
                        fs,
                        new Path(staging, CheckpointDirectory.TOKENIZER),
                        CheckpointDirectory.TOKENIZER + "/",
                        files);
        for (Map.Entry<String, byte[]> f : tokenizer.files().entrySet()) {
            try (OutputStream s = tokenizerFolder.create(f.getKey())) {
                s.write(f.getValue());
            }
        }
        String dir = staging.toString();
        var hadoop = new SerializableConfiguration(jsc.hadoopConfiguration());
        jsc.sc().setJobDescription("lmspark train: checkpoint round " + round);
        List<String[]> written =
                states.map(
                                s -> {
                                    writeState(hadoop, dir, s);
                                    return new String[] {
                                        TrainCheckpoints.workerFile(s.worker()),
                                        Long.toString(s.optimizer().length),
                                        TrainCheckpoints.sha256(s.optimizer())
                                    };
                                })
                        .collect();
        jsc.sc().setJobDescription(null);
        for (String[] w : written) {
            files.put(w[0], new TrainCheckpoints.FileHash(Long.parseLong(w[1]), w[2]));
        }
        ObjectNode state = TrainCheckpoints.JSON.createObjectNode();
        state.put("format_version", TrainCheckpoints.FORMAT_VERSION);
        state.put("round", round);
        state.put("global_step", round * c.localSteps());
        state.put("tokens", tokens);
        state.put("examples", rows);
        state.put("rounds", rounds);
        state.put("schedule_steps", scheduleSteps);
        ObjectNode cursor = state.putObject("data");
        cursor.put("train_examples", dataset.numExamples("train"));
        cursor.put("workers", c.workers());
        cursor.put("rows_per_worker_round", c.examplesPerWorkerRound());
        cursor.put(
                "rows_per_worker_epoch",
                new DataSchedule(
                                dataset.numExamples("train"),
                                c.workers(),
                                c.examplesPerWorkerRound(),
                                c.seed())
                        .blockSize());
        cursor.put("next_row", round * c.examplesPerWorkerRound());
        state.put("seed", c.seed());
        state.set("config", c.toJson());
        state.set("model", TrainCheckpoints.JSON.readTree(config.toJson()));
        ObjectNode ds = state.putObject("dataset");
        ds.put("path", dataset.root());
        ds.put("objective", dataset.objective());
        ds.put("tokenizer_sha256", dataset.tokenizerSha256());
        ObjectNode p = Provenance.of(jsc.version());
        state.set("provenance", p);
        p.put("run_id", runId);
        p.put("written_at", Instant.now().toString());
        p.put("elapsed_s", (System.nanoTime() - started) / 1e9);
        state.set("files", TrainCheckpoints.JSON.valueToTree(files));
        TrainCheckpoints.writeState(fs, staging, state);
        return TrainCheckpoints.publish(fs, output, staging, round, c.keepCheckpoints());
    }

    /** Frees the live workers of this run: in this JVM (local mode) at once. */
    private static void release(JavaSparkContext jsc, String runId) {
        if (jsc.sc().isLocal()) {
            Worker.release(runId);
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

    /**
     * The first line of what failed in a task, from a Spark job failure: the innermost cause's
     * message (e.g. the shard that is missing), else the task's error from the message.
     */
    static String taskError(Throwable e) {
        Throwable root = e;
        Throwable outer = null; // the outermost cause that is not Spark's wrapping
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
            if (outer == null && !(root instanceof org.apache.spark.SparkException)) {
                outer = root;
            }
        }
        String message = root.getMessage() == null ? root.toString() : root.getMessage();
        if (outer != null && outer != root && outer.getMessage() != null) {
            // lmspark's own words, two levels deep: "worker 1 cannot read its rows of round 4:
            // …/part-00002.parquet is missing …", not the file system's.
            Throwable why = outer.getCause();
            message =
                    outer.getMessage()
                            + ": "
                            + (why.getMessage() == null ? why.toString() : why.getMessage());
        }
        if (root == e) {
            // Executor failures reach the driver as text: the last "Caused by:" is the innermost.
            Matcher m = TASK_ERROR.matcher(message);
            String last = null;
            while (m.find()) {
                last = m.group(1);
            }
            if (last != null) {
                message = last;
            }
        }
        return message.strip().lines().findFirst().orElse("").strip();
    }

    private static final Pattern TASK_ERROR =
            Pattern.compile(
                    "(?m)^(?:Caused by: |.*Lost task .*?\\): )[\\w.$]+(?:Exception|Error): (.*)$");

    /** Whether an executor or task died of an OutOfMemoryError (Spark's exit code 52). */
    private static boolean outOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof OutOfMemoryError
                    || m.contains("OutOfMemoryError")
                    || m.contains("exited with code 52")) {
                return true;
            }
        }
        return false;
    }

    /** Whether a {@link BadInputException} is in {@code e}'s cause chain. */
    private static boolean isBadInput(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits for a round's job, polling {@code stop}: a stop signal cancels the job (its tasks stop
     * after their current local step) even if it arrived before the job was submitted.
     */
    private static <T> T await(JavaFutureAction<T> job, StopSignal stop) throws Exception {
        while (true) {
            try {
                return job.get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (stop.requested()) {
                    job.cancel(true);
                }
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
    }

    private static void deleteQuietly(FileSystem fs, Path dir) {
        if (dir == null) {
            return;
        }
        try {
            fs.delete(dir, true);
        } catch (IOException e) {
            // A hidden leftover: the next start or resume removes it.
        }
    }

    /** "mlm loss NaN, nsp loss 0.693": a worker's round's loss terms. */
    private static String describeTerms(List<StepResult.TermSum> terms) {
        StringBuilder b = new StringBuilder();
        for (StepResult.TermSum t : terms) {
            b.append(b.length() > 0 ? ", " : "")
                    .append(t.name())
                    .append(" loss ")
                    .append(String.format(Locale.ROOT, "%.4g", t.mean()));
        }
        return b.toString();
    }

    private static String termsNote(Map<String, StepResult.TermSum> terms) {
        if (terms.size() < 2) {
            return "";
        }
        StringBuilder b = new StringBuilder(" (");
        terms.values()
                .forEach(
                        t ->
                                b.append(b.length() > 2 ? ", " : "")
                                        .append(t.name())
                                        .append(' ')
                                        .append(String.format(Locale.ROOT, "%.3f", t.mean())));
        return b.append(')').toString();
    }

    /** h:mm:ss. */
    static String clock(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
