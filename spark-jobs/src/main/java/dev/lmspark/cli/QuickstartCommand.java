package dev.lmspark.cli;

import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.jobs.SampleCorpusJob;
import dev.lmspark.jobs.TrainTokenizerJob;
import dev.lmspark.spark.CorpusReader;
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
            "mlm: prose corpus and a WordPiece tokenizer; clm: code corpus and a byte-level BPE"
                    + " tokenizer with the FIM sentinels.",
            "Writes corpus/ and tokenizer/ under --workdir, replacing what an earlier quickstart"
                    + " wrote there. (Data preparation and training join as they land.)"
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

        err.printf("quickstart: 2/2 train-tokenizer (%s)%n", tokenizer.type().cliName());
        var spark =
                SparkSessions.start(
                        "lmspark quickstart", sparkOptions.master(), sparkOptions.conf());
        var trained =
                TrainTokenizerJob.run(
                        spark,
                        new TrainTokenizerJob.Config(
                                new CorpusReader(List.of(corpusDir), InputFormat.JSONL, "text"),
                                tokenizer,
                                tokenizerDir,
                                true,
                                0),
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
                "  time       %.1f s (corpus) + %.1f s (tokenizer, %d Spark tasks)%n",
                corpus.seconds(), trained.seconds(), trained.countingTasks());
        return 0;
    }
}
