package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.ReportJob;
import dev.lmspark.spark.HadoopPaths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

@Command(
        name = "report",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Draws the curves of a training run from its metrics.jsonl: training loss and its"
                    + " terms with the validation loss, validation metrics, learning rate,"
                    + " tokens/s, the time split of each round, each worker's compute time and the"
                    + " workers' agreement against the step, as a PNG image and as a self-contained"
                    + " HTML page"
                    + " (the same charts, a summary table and the train config of the latest"
                    + " checkpoint).",
            "A run still in progress can be reported. Runs on the driver alone; no Spark job is"
                    + " started."
        })
final class ReportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--run",
            required = true,
            paramLabel = "DIR",
            description = "The --output directory of a train run (it holds metrics.jsonl).")
    String run;

    @Option(
            names = "--output",
            paramLabel = "FILE",
            converter = OutputFile.class,
            description =
                    "A file to write, ending in .png (an image of the charts) or .html (a"
                            + " self-contained page); repeatable (default: DIR/report.png and"
                            + " DIR/report.html).")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--overwrite", description = "Replace outputs that exist.")
    boolean overwrite;

    @Mixin SparkOptions sparkOptions;

    /** Refuses an extension other than .png or .html while the flags are parsed. */
    static final class OutputFile implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                // Credentials first: they are refused without echoing the path.
                HadoopPaths.check("--output", value);
                ReportJob.Format.of(value);
            } catch (BadInputException e) {
                throw new TypeConversionException(e.getMessage());
            }
            return value;
        }
    }

    @Override
    public Integer call() {
        var config = new ReportJob.Config(run, outputs, overwrite);
        var result =
                ReportJob.run(
                        config,
                        HadoopPaths.configuration(sparkOptions.conf()),
                        spec.commandLine().getErr());
        spec.commandLine()
                .getOut()
                .printf(
                        Locale.ROOT,
                        "report: wrote %s (round %d, step %,d) in %.1f s%n",
                        String.join(" and ", result.outputs()),
                        result.lastRound(),
                        result.steps(),
                        result.seconds());
        return 0;
    }
}
