package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.InspectJob;
import dev.lmspark.spark.HadoopPaths;
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
                        + " with its id, label, segment, special and word-start flags; or, with"
                        + " --format jsonl, one JSON object of the row's columns per line, for other"
                        + " tools.")
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

    @Option(
            names = "--format",
            paramLabel = "text|jsonl",
            description =
                    "text (for a person) or jsonl (every column of each row as JSON, one row per"
                            + " line) (default: ${DEFAULT-VALUE}).")
    String format = "text";

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        HadoopPaths.check("--data", data);
        if (rows < 1) {
            throw new BadInputException("--rows " + rows + " must be at least 1");
        }
        if (!format.equals("text") && !format.equals("jsonl")) {
            throw new BadInputException("unknown --format '" + format + "'; use text or jsonl");
        }
        InspectJob.run(
                HadoopPaths.configuration(sparkOptions.conf()),
                data,
                split,
                rows,
                format.equals("jsonl"),
                spec.commandLine().getOut());
        return 0;
    }
}
