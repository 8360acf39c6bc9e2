package dev.lmspark.cli;

import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.SparkSessions;
import dev.lmspark.train.StopSignal;
import dev.lmspark.train.TrainConfig;
import dev.lmspark.train.TrainJob;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Pretrains a masked (MLM, +NSP) or causal (CLM, +FIM) language model on a prepared"
                    + " dataset with Spark: every round, --workers tasks each train a replica for"
                    + " --local-steps steps with AdamW from the global parameters, and the driver"
                    + " combines their updates (plain averaging, or DiLoCo's outer Nesterov).",
            "Writes --output/checkpoints/round-NNNNNN (model, optimizer states, trainer_state.json,"
                    + " tokenizer; 'latest' names the newest) and --output/metrics.jsonl; one line"
                    + " per round on stderr. The same data, flags and --seed give the same bits"
                    + " wherever Spark runs the tasks, and --resume continues exactly."
        })
final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--data",
            required = true,
            paramLabel = "DIR",
            description = "A prepared dataset (prepare's output).")
    String data;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Training output: checkpoints/ and metrics.jsonl.")
    String output;

    @Option(
            names = "--model",
            paramLabel = "PRESET|FILE",
            description =
                    "A preset (bert-tiny … bert-base, rotary-mlm-small|base, llama-tiny|small|base;"
                            + " vocabulary and length come from the data) or a model config JSON"
                            + " file (default: bert-mini for mlm, llama-tiny for clm; bert-* train"
                            + " causally with the BERT LM head for clm).")
    String model;

    @Option(
            names = "--init-from",
            paramLabel = "DIR",
            description =
                    "Start from an lmspark checkpoint (or a train output's latest) or a Hugging"
                            + " Face model folder (config.json + model.safetensors).")
    String initFrom;

    @Option(
            names = "--objective",
            paramLabel = "mlm|clm",
            description = "What to train (default: the dataset's objective).")
    String objective;

    @Option(
            names = "--workers",
            paramLabel = "N",
            description =
                    "Parallel workers, one Spark task each per round (default: ${DEFAULT-VALUE}).")
    int workers = 1;

    @Option(
            names = "--rounds",
            paramLabel = "N",
            description =
                    "Rounds to train (default: enough for --max-tokens, else one epoch of the train"
                            + " split).")
    int rounds;

    @Option(
            names = "--local-steps",
            paramLabel = "H",
            description = "Inner steps per worker per round (default: ${DEFAULT-VALUE}).")
    int localSteps = 50;

    @Option(
            names = "--batch-size",
            paramLabel = "B",
            description =
                    "Rows per micro-batch per worker; the global batch is workers × B ×"
                            + " grad-accum (default: ${DEFAULT-VALUE}).")
    int batchSize = 16;

    @Option(
            names = "--grad-accum",
            paramLabel = "A",
            description = "Micro-batches per inner step (default: ${DEFAULT-VALUE}).")
    int gradAccum = 1;

    @Option(
            names = "--max-tokens",
            paramLabel = "N",
            description = "Stop after the round that reaches N trained tokens (default: no limit).")
    long maxTokens;

    @Option(
            names = "--lr",
            paramLabel = "LR",
            description = "Peak inner (AdamW) learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 1e-4;

    @Option(
            names = "--lr-schedule",
            paramLabel = "constant|linear|cosine",
            description =
                    "Decay after warm-up, over the planned steps (default: ${DEFAULT-VALUE}).")
    String lrSchedule = "linear";

    @Option(
            names = "--warmup-steps",
            paramLabel = "N",
            description = "Inner steps of linear warm-up from 0 (default: ${DEFAULT-VALUE}).")
    long warmupSteps;

    @Option(
            names = "--weight-decay",
            paramLabel = "W",
            description =
                    "AdamW decoupled weight decay, none on biases and norms (default:"
                            + " ${DEFAULT-VALUE}).")
    double weightDecay = 0.01;

    @Option(
            names = "--clip-norm",
            paramLabel = "N",
            description = "Global gradient-norm clipping, 0 for none (default: ${DEFAULT-VALUE}).")
    double clipNorm = 1.0;

    @Option(
            names = "--seed",
            description =
                    "Root seed of initialisation, data order, dropout and masking (default:"
                            + " ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(
            names = "--outer-optimizer",
            paramLabel = "average|nesterov",
            description =
                    "How the driver applies the workers' averaged update (default:"
                            + " ${DEFAULT-VALUE}).")
    String outerOptimizer = "average";

    @Option(
            names = "--outer-lr",
            paramLabel = "LR",
            description = "Outer learning rate of nesterov (default: ${DEFAULT-VALUE}).")
    double outerLr = 0.7;

    @Option(
            names = "--outer-momentum",
            paramLabel = "M",
            description = "Outer momentum of nesterov (default: ${DEFAULT-VALUE}).")
    double outerMomentum = 0.5;

    @Option(
            names = "--inner-lr-scaling",
            paramLabel = "auto|sqrt|none",
            description =
                    "The workers' inner learning rate: sqrt = --lr × √workers, so that averaging"
                            + " K workers' AdamW updates matches one worker at the global batch"
                            + " (--lr is the global batch's rate); none = --lr; auto = sqrt with"
                            + " average, none with nesterov, whose outer step already amplifies"
                            + " (default: ${DEFAULT-VALUE}).")
    String innerLrScaling = "auto";

    @Option(
            names = "--delta-precision",
            paramLabel = "fp32|bf16|int8",
            description =
                    "How the workers' updates travel to the combine: fp32 as they are, bf16 (half"
                            + " the bytes) or int8 (a quarter: blocks of 256 values, each with a"
                            + " float32 scale); bf16 and int8 keep error feedback, so what a round"
                            + " does not send is sent later (default: ${DEFAULT-VALUE}).")
    String deltaPrecision = "fp32";

    @Option(
            names = "--loss",
            paramLabel = "mle|smile|smile-random|smile-reverse",
            description = "Token loss (default: ${DEFAULT-VALUE}).")
    String loss = "mle";

    @Option(
            names = "--precision",
            paramLabel = "fp32|bf16",
            description =
                    "Compute precision; bf16 keeps float32 master weights and optimizer state"
                            + " (default: ${DEFAULT-VALUE}).")
    String precision = "fp32";

    @Option(
            names = "--dynamic-masking",
            description =
                    "MLM: re-mask the rows every epoch after the first (from their labels, special"
                            + " tokens and word starts, with the dataset's masking settings).")
    boolean dynamicMasking;

    @Option(
            names = "--checkpoint-every",
            paramLabel = "N",
            description =
                    "Rounds between checkpoints; the last round is always checkpointed (default:"
                            + " ${DEFAULT-VALUE}, 0 = the last round only).")
    int checkpointEvery = 10;

    @Option(
            names = "--keep-checkpoints",
            paramLabel = "N",
            description = "Keep the newest N checkpoints (default: ${DEFAULT-VALUE} = all).")
    int keepCheckpoints;

    @Option(
            names = "--eval-every",
            paramLabel = "N",
            description =
                    "Evaluate on the validation split every N rounds, at the start and at the end"
                            + " (default: ${DEFAULT-VALUE} = never).")
    int evalEvery;

    @Option(
            names = "--eval-batch-size",
            paramLabel = "N",
            description = "Rows per evaluation batch (default: ${DEFAULT-VALUE}).")
    int evalBatchSize = 32;

    @Option(
            names = "--resume",
            description =
                    "Continue the run in --output from its latest checkpoint (--rounds and"
                            + " --max-tokens may be raised to extend it).")
    boolean resume;

    @Option(names = "--overwrite", description = "Start over in an --output that holds a run.")
    boolean overwrite;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        HadoopPaths.check("--data", data);
        HadoopPaths.check("--output", output);
        if (resume && overwrite) {
            throw new dev.lmspark.data.BadInputException(
                    "--resume and --overwrite contradict each other; give one");
        }
        TrainConfig config =
                new TrainConfig(
                        data,
                        output,
                        model,
                        initFrom,
                        objective,
                        workers,
                        rounds,
                        localSteps,
                        batchSize,
                        gradAccum,
                        maxTokens,
                        lr,
                        lrSchedule,
                        warmupSteps,
                        weightDecay,
                        clipNorm,
                        seed,
                        outerOptimizer,
                        outerLr,
                        outerMomentum,
                        innerLrScaling,
                        deltaPrecision,
                        loss,
                        precision,
                        dynamicMasking,
                        checkpointEvery,
                        keepCheckpoints,
                        evalEvery,
                        evalBatchSize);
        PrintWriter err = spec.commandLine().getErr();
        var spark =
                SparkSessions.start(
                        "lmspark train",
                        sparkOptions.master(),
                        trainConf(sparkOptions.conf(), err));
        TrainJob.Result r;
        try (StopSignal stop = StopSignal.install(spark.sparkContext(), err)) {
            r = TrainJob.run(spark, config, explicitFlags(), resume, overwrite, stop, err);
        }
        spec.commandLine()
                .getOut()
                .printf(
                        "train: rounds %d–%d, %,d steps, %,d tokens in %.1f s; checkpoint %s%s%n",
                        r.firstRound(),
                        r.lastRound(),
                        r.steps(),
                        r.tokens(),
                        r.seconds(),
                        r.checkpoint(),
                        r.lastEvalLoss() == null
                                ? ""
                                : String.format(
                                        "; validation loss %.4f → %.4f",
                                        r.firstEvalLoss(), r.lastEvalLoss()));
        return 0;
    }

    /**
     * The Spark settings train needs, on top of the user's: no speculative attempts (a second
     * attempt of a worker's round would race the first for its live state) and no dynamic
     * allocation (a released executor takes its workers' states with it, to be replayed); a task
     * takes all of an executor's cores.
     */
    static Map<String, String> trainConf(Map<String, String> given, PrintWriter err) {
        Map<String, String> conf = new LinkedHashMap<>(given);
        override(
                conf,
                "spark.speculation",
                "false",
                "speculative copies of a worker's round would race for its state",
                err);
        override(
                conf,
                "spark.dynamicAllocation.enabled",
                "false",
                "an executor released mid-run would take its workers' optimizer states with it",
                err);
        String cores = conf.get("spark.executor.cores");
        if (cores != null && !conf.containsKey("spark.task.cpus")) {
            // One worker task per executor, using all its cores for intra-op threads: DJL allows
            // one gradient collector per JVM, so a second task there would only wait.
            conf.put("spark.task.cpus", cores);
            err.printf(
                    "train: spark.task.cpus=%s (spark.executor.cores): one worker per executor at"
                            + " a time, %s intra-op threads each%n",
                    cores, cores);
        }
        return conf;
    }

    private static void override(
            Map<String, String> conf, String key, String value, String why, PrintWriter err) {
        String old = conf.put(key, value);
        if (old != null && !old.equalsIgnoreCase(value)) {
            err.printf("train: warning: %s=%s overridden to %s: %s%n", key, old, value, why);
        }
    }

    /** The flags given on the command line (or in --config), as snake_case config keys. */
    private Set<String> explicitFlags() {
        Set<String> out = new LinkedHashSet<>();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            out.add(o.longestName().replaceFirst("^--", "").replace('-', '_'));
        }
        return out;
    }
}
