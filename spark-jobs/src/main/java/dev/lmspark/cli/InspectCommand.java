package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.InspectJob;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.SparkSessions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description =
                "Prints rows of a prepared dataset for a person: the decoded text, then each token"
                        + " with its id, label, segment, special and word-start flags.")
final class InspectCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--data",
            required = true,
            paramLabel = "DIR",
            description = "A prepared dataset.")
    String data;

    @Option(
            names = "--split",
            paramLabel = "NAME",
            description = "train, validation or predict (default: ${DEFAULT-VALUE}).")
    String split = "train";

    @Option(
            names = "--rows",
            paramLabel = "N",
            description = "How many rows, from example_id 0 (default: ${DEFAULT-VALUE}).")
    int rows = 2;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        HadoopPaths.check("--data", data);
        if (rows < 1) {
            throw new BadInputException("--rows " + rows + " must be at least 1");
        }
        var spark =
                SparkSessions.start("lmspark inspect", sparkOptions.master(), sparkOptions.conf());
        InspectJob.run(spark, data, split, rows, spec.commandLine().getOut());
        return 0;
    }
}
