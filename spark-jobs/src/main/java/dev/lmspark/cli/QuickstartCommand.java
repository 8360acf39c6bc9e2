package dev.lmspark.cli;

import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.jobs.PrepareConfig;
import dev.lmspark.jobs.PrepareJob;
import dev.lmspark.jobs.SampleCorpusJob;
import dev.lmspark.jobs.TrainTokenizerJob;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.SparkSessions;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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
            "Writes corpus/, tokenizer/ and data/ (a prepared dataset) under --workdir, replacing"
                    + " what an earlier quickstart wrote there. (Training joins when it lands.)"
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
            converter = Converters.Objectives.class,
            description = "Masked LM on prose or causal LM on code (default: mlm).")
    Objective objective = Objective.MLM;

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

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        HadoopPaths.check("--workdir", workdir);
        boolean mlm = objective == Objective.MLM;
        String corpusDir = new Path(workdir, "corpus").toString();
        String tokenizerDir = new Path(workdir, "tokenizer").toString();
        TokenizerSpec tokenizer =
                new TokenizerSpec(
                        mlm ? TokenizerType.WORDPIECE : TokenizerType.BPE, vocabSize, mlm, 2);

        err.printf(
                "quickstart: 1/2 sample-corpus (%s, %.1f MiB)%n", mlm ? "prose" : "code", sizeMb);
        var corpus =
                SampleCorpusJob.run(
                        new SampleCorpusJob.Config(
                                corpusDir,
                                mlm ? SampleCorpus.Kind.PROSE : SampleCorpus.Kind.CODE,
                                sizeMb,
                                seed,
                                true),
                        HadoopPaths.configuration(sparkOptions.conf()),
                        err);

        err.printf("quickstart: 2/3 train-tokenizer (%s)%n", tokenizer.type().cliName());
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
                                0),
                        err);

        err.printf("quickstart: 3/3 prepare (%s)%n", mlm ? "mlm, nsp" : "clm, pack, fim");
        String dataDir = new Path(workdir, "data").toString();
        var data =
                PrepareJob.run(
                        spark,
                        new PrepareConfig(
                                List.of(corpusDir),
                                InputFormat.JSONL,
                                "text",
                                "prefix",
                                "target",
                                tokenizerDir,
                                false,
                                dataDir,
                                mlm ? PrepareConfig.Objective.MLM : PrepareConfig.Objective.CLM,
                                mlm ? 128 : 256,
                                4,
                                seed,
                                0.01,
                                0,
                                false,
                                true,
                                false,
                                MaskingConfig.defaults(20),
                                mlm,
                                0.1,
                                !mlm,
                                mlm ? 0 : 0.5,
                                0.5,
                                "document",
                                "right",
                                0,
                                false),
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
                "  time       %.1f s (corpus) + %.1f s (tokenizer, %d Spark tasks) + %.1f s (data)%n",
                corpus.seconds(), trained.seconds(), trained.countingTasks(), data.seconds());
        return 0;
    }
}
