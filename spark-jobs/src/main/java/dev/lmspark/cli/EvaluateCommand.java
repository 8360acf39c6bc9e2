package dev.lmspark.cli;

import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.SparkSessions;
import dev.lmspark.train.EvaluateJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Metrics of a checkpoint on a split of a prepared dataset, in inference mode (no"
                    + " dropout), over the whole split: prints one compact JSON line on stdout with"
                    + " examples, tokens, mlm_loss and mlm_accuracy (token-weighted), nsp_loss and"
                    + " nsp_accuracy (over pairs), clm_loss and clm_accuracy, and perplexity (exp of"
                    + " the MLM or CLM loss)."
        })
final class EvaluateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--checkpoint",
            required = true,
            paramLabel = "DIR",
            description =
                    "A checkpoint directory (checkpoints/round-NNNNNN) or a train output directory"
                            + " (its latest checkpoint).")
    String checkpoint;

    @Option(
            names = "--data",
            required = true,
            paramLabel = "DIR",
            description = "A prepared dataset with the checkpoint's tokenizer.")
    String data;

    @Option(
            names = "--split",
            paramLabel = "NAME",
            description = "The split to evaluate (default: ${DEFAULT-VALUE}).")
    String split = "validation";

    @Option(
            names = "--batch-size",
            paramLabel = "N",
            description = "Rows per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize = 32;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        HadoopPaths.check("--checkpoint", checkpoint);
        HadoopPaths.check("--data", data);
        if (batchSize < 1) {
            throw new dev.lmspark.data.BadInputException(
                    "--batch-size " + batchSize + " must be at least 1");
        }
        var spark =
                SparkSessions.start("lmspark evaluate", sparkOptions.master(), sparkOptions.conf());
        var metrics =
                EvaluateJob.run(
                        spark, checkpoint, data, split, batchSize, spec.commandLine().getErr());
        spec.commandLine().getOut().println(metrics.toJson().toString());
        return 0;
    }
}
