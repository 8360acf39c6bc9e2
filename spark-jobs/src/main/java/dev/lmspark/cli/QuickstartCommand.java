package dev.lmspark.cli;

import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.generate.GenerateJob;
import dev.lmspark.jobs.PrepareConfig;
import dev.lmspark.jobs.PrepareJob;
import dev.lmspark.jobs.ReportJob;
import dev.lmspark.jobs.SampleCorpusJob;
import dev.lmspark.jobs.TrainTokenizerJob;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.InvalidUtf8;
import dev.lmspark.spark.SparkSessions;
import dev.lmspark.train.EvaluateJob;
import dev.lmspark.train.Evaluator;
import dev.lmspark.train.TrainConfig;
import dev.lmspark.train.TrainJob;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "End-to-end demo on the built-in sample corpus, in Spark local mode by default.",
            "mlm: prose corpus, WordPiece tokenizer, MLM+NSP dataset; clm: code corpus, byte-level"
                    + " BPE tokenizer with the FIM sentinels, packed CLM+FIM dataset.",
            "Then trains with 2 workers (mlm: bert-mini with NSP; clm: llama-tiny), evaluates the"
                    + " trained model on the validation split, generates from it and draws its"
                    + " curves.",
            "Writes corpus/, tokenizer/, data/ (a prepared dataset), run/ (a training output),"
                    + " report.png and report.html under --workdir, replacing what an earlier"
                    + " quickstart wrote there."
        })
final class QuickstartCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--workdir",
            paramLabel = "DIR",
            description = "Where the demo's outputs go (default: ${DEFAULT-VALUE}).")
    String workdir = "lmspark-quickstart";

    @Option(
            names = "--objective",
            paramLabel = "mlm|clm",
            converter = Converters.QuickstartObjectives.class,
            description = "Masked LM on prose or causal LM on code (default: mlm).")
    PrepareConfig.Objective objective = PrepareConfig.Objective.MLM;

    @Option(
            names = "--size-mb",
            paramLabel = "MB",
            description = "Sample corpus size (default: ${DEFAULT-VALUE}).")
    double sizeMb = 8;

    @Option(
            names = "--vocab-size",
            paramLabel = "N",
            description = "Tokenizer vocabulary (default: ${DEFAULT-VALUE}).")
    int vocabSize = 8192;

    @Option(names = "--seed", description = "Root seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(
            names = "--rounds",
            paramLabel = "N",
            description =
                    "Training rounds of 2 workers × 50 steps (default: 8; on 2 cores about 6"
                            + " minutes of training for mlm, 3 for clm).")
    Integer rounds;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        HadoopPaths.check("--workdir", workdir);
        boolean mlm = objective == PrepareConfig.Objective.MLM;
        String corpusDir = new Path(workdir, "corpus").toString();
        String tokenizerDir = new Path(workdir, "tokenizer").toString();
        TokenizerSpec tokenizer =
                new TokenizerSpec(
                        mlm ? TokenizerType.WORDPIECE : TokenizerType.BPE, vocabSize, mlm, 2);

        // Every flag is checked before the first step writes anything.
        if (rounds != null && rounds < 1) {
            throw new ParameterException(
                    spec.commandLine(), "--rounds " + rounds + " must be at least 1 (default: 8)");
        }
        var corpusConfig =
                new SampleCorpusJob.Config(
                        corpusDir,
                        mlm ? SampleCorpus.Kind.PROSE : SampleCorpus.Kind.CODE,
                        sizeMb,
                        seed,
                        true);
        String dataDir = new Path(workdir, "data").toString();
        String runDir = new Path(workdir, "run").toString();
        TrainConfig trainConfig = trainConfig(dataDir, runDir, mlm);

        err.printf(
                "quickstart: 1/7 sample-corpus (%s, %.1f MiB)%n", mlm ? "prose" : "code", sizeMb);
        var corpus =
                SampleCorpusJob.run(
                        corpusConfig, HadoopPaths.configuration(sparkOptions.conf()), err);

        err.printf("quickstart: 2/7 train-tokenizer (%s)%n", tokenizer.type().cliName());
        var spark =
                SparkSessions.start(
                        "lmspark quickstart", sparkOptions.master(), sparkOptions.conf());
        var trained =
                TrainTokenizerJob.run(
                        spark,
                        new TrainTokenizerJob.Config(
                                List.of(corpusDir),
                                InputFormat.JSONL,
                                "text",
                                tokenizer,
                                tokenizerDir,
                                true,
                                0,
                                InvalidUtf8.NO_LIMIT),
                        err);

        err.printf("quickstart: 3/7 prepare (%s)%n", mlm ? "mlm, nsp" : "clm, pack, fim");
        var data =
                PrepareJob.run(
                        spark,
                        PrepareConfig.builder()
                                .setInputs(List.of(corpusDir))
                                .setTokenizer(tokenizerDir)
                                .setOutput(dataDir)
                                .optInputFormat(InputFormat.JSONL)
                                .optObjective(objective)
                                .optMaxLength(mlm ? 128 : 256)
                                .optShards(4)
                                .optSeed(seed)
                                .optOverwrite(true)
                                .optMaxPredictions(20)
                                .optNsp(mlm, 0.1)
                                .optPack(!mlm)
                                .optFim(mlm ? 0 : 0.5, 0.5, PrepareConfig.FimLevel.DOCUMENT)
                                .build(),
                        err);

        err.printf(
                "quickstart: 4/7 train (2 workers, %s)%n",
                mlm ? "bert-mini, mlm + nsp" : "llama-tiny, clm");
        // A round may not need more rows per worker than an epoch gives it: a small corpus
        // (--size-mb) trains fewer local steps per round.
        long perWorker =
                dev.lmspark.spark.data.PreparedDataset.open(
                                        dataDir, spark.sparkContext().hadoopConfiguration())
                                .numExamples("train")
                        / 2;
        int steps = (int) Math.max(1, Math.min(LOCAL_STEPS, perWorker / BATCH));
        if (steps < LOCAL_STEPS) {
            err.printf(
                    "quickstart: each worker has %,d rows per epoch: %d local steps per round"
                            + " (instead of %d)%n",
                    perWorker, steps, LOCAL_STEPS);
            trainConfig = trainConfig(dataDir, runDir, mlm, steps);
        }
        TrainJob.Result trained2 = TrainJob.run(spark, trainConfig, Set.of(), false, true, err);

        err.println("quickstart: 5/7 evaluate (validation split)");
        Evaluator.Metrics metrics = EvaluateJob.run(spark, runDir, dataDir, "validation", 32, err);

        err.println("quickstart: 6/7 generate");
        StringWriter generatedText = new StringWriter();
        PrintWriter generated = new PrintWriter(generatedText, true);
        record Prompt(String text, String suffix, int maxNewTokens) {}
        List<Prompt> prompts =
                mlm
                        ? List.of(
                                new Prompt("The river", null, 24),
                                new Prompt("In the spring", null, 24))
                        : List.of(
                                new Prompt("def ", null, 64),
                                new Prompt(
                                        "def area(width, height):\n    ",
                                        "\n    return result\n",
                                        32));
        for (Prompt prompt : prompts) {
            GenerateJob.run(
                    GenerateJob.Config.builder()
                            .setCheckpoint(runDir)
                            .optPrompts(List.of(prompt.text()))
                            .optSuffixes(
                                    prompt.suffix() == null ? List.of() : List.of(prompt.suffix()))
                            .optMaxNewTokens(prompt.maxNewTokens())
                            .optSampler(GenerateJob.Config.sampler(0.7, 20, 1.0))
                            .optSeed(seed)
                            .build(),
                    HadoopPaths.configuration(sparkOptions.conf()),
                    generated,
                    err);
        }

        err.println("quickstart: 7/7 report");
        String png = new Path(workdir, "report.png").toString();
        String html = new Path(workdir, "report.html").toString();
        ReportJob.run(
                new ReportJob.Config(runDir, List.of(png, html), true),
                HadoopPaths.configuration(sparkOptions.conf()),
                err);

        out.printf("quickstart (%s) made:%n", objective.cliName());
        out.printf(
                "  corpus     %s  (%,d %s documents, %.1f MiB, %d file(s))%n",
                corpus.output(),
                corpus.documents(),
                mlm ? "prose" : "code",
                corpus.bytes() / 1048576.0,
                corpus.files());
        out.printf(
                "  tokenizer  %s  (%s, %,d tokens from %,d distinct words; tokenizer.json,"
                        + " tokenizer_config.json, special_tokens_map.json)%n",
                trained.output(),
                tokenizer.type().cliName(),
                trained.vocabSize(),
                trained.distinctWords());
        out.printf(
                "  data       %s  (%s: %s of %d tokens; see manifest.json, or run"
                        + " lmspark inspect --data %s)%n",
                data.output(),
                mlm ? "MLM+NSP" : "CLM+FIM, packed",
                PrepareJob.describe(data.examples()),
                mlm ? 128 : 256,
                dataDir);
        out.printf(
                "  run        %s  (%s: %d rounds, %,d steps per worker, %,d tokens; checkpoints/,"
                        + " metrics.jsonl)%n",
                trained2.output(),
                mlm ? "bert-mini, 2 workers" : "llama-tiny, 2 workers",
                trained2.lastRound(),
                trained2.steps(),
                trained2.tokens());
        out.printf("  report     %s and %s%n", png, html);
        out.printf(
                "validation %s loss: first %.4f, last %.4f (ln V = %.4f)%n",
                mlm ? "MLM" : "CLM",
                trained2.firstEvalLoss(),
                trained2.lastEvalLoss(),
                Math.log(trained.vocabSize()));
        out.printf("evaluate: %s%n", metrics.toJson());
        out.println("generated:");
        generatedText.toString().lines().forEach(l -> out.println("  " + l));
        out.printf(
                "  time       %.1f s (corpus) + %.1f s (tokenizer, %d Spark tasks) + %.1f s (data)"
                        + " + %.1f s (train)%n",
                corpus.seconds(),
                trained.seconds(),
                trained.countingTasks(),
                data.seconds(),
                trained2.seconds());
        return 0;
    }

    /** Local steps per round and rows per micro-batch of the quickstart's workers. */
    private static final int LOCAL_STEPS = 50;

    private static final int BATCH = 16;

    private TrainConfig trainConfig(String data, String run, boolean mlm) {
        return trainConfig(data, run, mlm, LOCAL_STEPS);
    }

    /** The quickstart's training run: 2 workers, sized for about 6 minutes on 2 cores. */
    private TrainConfig trainConfig(String data, String run, boolean mlm, int localSteps) {
        return new TrainConfig(
                data,
                run,
                mlm ? "bert-mini" : "llama-tiny",
                null,
                null,
                2,
                rounds != null ? rounds : 8,
                localSteps,
                BATCH,
                1,
                0,
                mlm ? 1e-3 : 2e-3,
                "linear",
                50,
                0.01,
                1.0,
                seed,
                "average",
                0.7,
                0.5,
                // The demo's learning rates were measured as the workers' own: keep them.
                "none",
                "fp32",
                "mle",
                "fp32",
                false,
                0,
                0,
                mlm ? 5 : 4,
                32);
    }
}
