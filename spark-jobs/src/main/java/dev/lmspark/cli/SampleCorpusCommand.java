package dev.lmspark.cli;

import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.jobs.SampleCorpusJob;
import dev.lmspark.spark.HadoopPaths;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "sample-corpus",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Writes the built-in generated corpus as JSONL files, one {\"text\": …} document per line.",
            "prose: topical multi-paragraph English-like text (for MLM and NSP);"
                    + " code: small Python-like modules (for CLM and FIM);"
                    + " seq2seq: {\"prefix\": …, \"target\": …} sentence pairs (for mlm-seq2seq).",
            "The same --kind, --seed and --size-mb always give the same bytes."
        })
final class SampleCorpusCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Directory to create.")
    String output;

    @Option(
            names = "--kind",
            paramLabel = "prose|code|seq2seq",
            converter = Converters.CorpusKinds.class,
            description = "Kind of documents (default: ${DEFAULT-VALUE}).")
    SampleCorpus.Kind kind = SampleCorpus.Kind.PROSE;

    @Option(
            names = "--size-mb",
            paramLabel = "MB",
            description = "Total size in MiB (default: ${DEFAULT-VALUE}).")
    double sizeMb = 10;

    @Option(names = "--seed", description = "Root seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--overwrite", description = "Replace --output if it exists.")
    boolean overwrite;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        var config = new SampleCorpusJob.Config(output, kind, sizeMb, seed, overwrite);
        var err = spec.commandLine().getErr();
        var result =
                SampleCorpusJob.run(config, HadoopPaths.configuration(sparkOptions.conf()), err);
        spec.commandLine()
                .getOut()
                .printf(
                        "sample-corpus: wrote %,d %s documents (%.1f MiB) in %d file(s) to %s in %.1f s%n",
                        result.documents(),
                        kind.cliName(),
                        result.bytes() / 1048576.0,
                        result.files(),
                        result.output(),
                        result.seconds());
        return 0;
    }
}
