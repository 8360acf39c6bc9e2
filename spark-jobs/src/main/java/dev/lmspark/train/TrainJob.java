package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
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
            RunStart start =
                    resume
                            ? RunStart.resume(fs, output, given, explicit, log)
                            : RunStart.fresh(fs, output, given, overwrite);
            TrainConfig c = start.config();
            PreparedDataset dataset = PreparedDataset.open(c.data(), hadoop);
            if (start.state() != null) {
                RunStart.checkSameData(start.state(), dataset, c);
            }
            if (!dataset.hasSplit("train") || dataset.numExamples("train") == 0) {
                throw new BadInputException(
                        "--data " + c.data() + " has no train split; prepare a dataset first");
            }
            try (NDManager manager =
                    NDManager.newBaseManager(Devices.forTask(null).cpu(), Devices.ENGINE)) {
                StartingModel model =
                        resume
                                ? StartingModel.resumed(fs, start.checkpoint(), c, manager)
                                : StartingModel.initial(c, dataset, hadoop, manager, log);
                StartingModel.checkModelAgainstData(c, model.config(), dataset, log);
                MemoryPlan.check(
                        spark.sparkContext(),
                        c,
                        ModelWeights.shapes(model.config()).values().stream()
                                .mapToLong(ai.djl.ndarray.types.Shape::size)
                                .sum());
                // The data's own refusals, also before --output is touched.
                DataSchedule data =
                        DataSchedule.of(
                                dataset,
                                c.workers(),
                                c.examplesPerWorkerRound(),
                                c.seed(),
                                start.dataOrder());
                if (c.evalEvery() > 0) {
                    requireValidation(dataset, c);
                }
                if (!resume) {
                    // Only now that every input is checked: a refused run leaves --output as it
                    // was (an earlier run in it included).
                    RunStart.clearOutput(fs, output);
                }
                return train(spark, c, dataset, data, model, start, fs, output, stop, log, started);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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

    private static Result train(
            SparkSession spark,
            TrainConfig c,
            PreparedDataset dataset,
            DataSchedule data,
            StartingModel model,
            RunStart start,
            FileSystem fs,
            Path output,
            StopSignal stop,
            PrintWriter log,
            long started)
            throws IOException {
        SparkContext sc = spark.sparkContext();
        long examples = dataset.numExamples("train");
        double tokensPerRow = (double) dataset.numTokens("train") / examples;
        long rounds;
        long scheduleSteps;
        if (start.round() > 0) {
            rounds = c.rounds() > 0 ? c.rounds() : start.rounds();
            scheduleSteps = start.scheduleSteps();
        } else {
            rounds = plannedRounds(c, data, tokensPerRow);
            scheduleSteps = rounds * c.localSteps();
        }
        if (c.rounds() == 0 && start.round() > 0 && c.maxTokens() > 0) {
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
        ShardLayout layout = ShardLayout.of(model.config(), sc.conf().getInt(COMBINE_SHARDS, 0));
        GlobalShards shards = new GlobalShards(output, layout, hadoop);
        // The run's starting parameters become the shards of its start round; the driver keeps
        // none of them.
        GlobalShards.deleteAll(fs, output);
        shards.publish(start.round(), GlobalShards.Kind.PARAMS, model.params());
        if (model.momentum() != null) {
            shards.publish(start.round(), GlobalShards.Kind.MOMENTUM, model.momentum());
        }
        model.params().values().forEach(NDArray::close);
        if (model.momentum() != null) {
            model.momentum().values().forEach(NDArray::close);
        }
        RunSpec spec =
                new RunSpec(
                        runId,
                        c,
                        model.config(),
                        dataset,
                        data,
                        schedule,
                        threads,
                        hadoop,
                        sc.conf().getBoolean(ROUND_START_COPY, true),
                        shards);
        TokenizerSource tokenizer =
                TokenizerSource.read(dataset.tokenizerPath(), false, sc.hadoopConfiguration());
        MetricsLog metrics =
                start.round() > 0
                        ? MetricsLog.resume(fs, output, start.round())
                        : MetricsLog.start(fs, output);
        log.printf(
                "train: %s, %,d parameters, %d worker(s) × %d local steps × %d × %d rows per"
                        + " round, %d round(s) (%s schedule over %,d steps, peak inner lr %.3g%s),"
                        + " %d thread(s) per worker, combine in %d shard(s), output %s%n",
                describe(model.config()),
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
                        model.config(),
                        spec,
                        shards,
                        fs,
                        output,
                        metrics,
                        new CheckpointWriter(
                                JavaSparkContext.fromSparkContext(sc),
                                fs,
                                output,
                                model.config(),
                                tokenizer,
                                dataset),
                        start.round(),
                        start.checkpoint() == null ? null : start.checkpoint().toString(),
                        start.tokens(),
                        start.examples(),
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
