package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.Secrets;
import dev.lmspark.train.TrainStoppedException;
import java.io.PrintWriter;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.ParameterException;

/**
 * {@code lmspark <command> [flags]}. Usage errors — a bad flag, a missing or malformed input, a
 * model that does not fit the data — exit 2, failures of the work itself 1; both print one line
 * naming the problem ({@code LMSPARK_DEBUG=1} adds the stack trace of unexpected failures).
 */
@Command(
        name = "lmspark",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Pretrain masked and causal language models on Apache Spark with DJL.",
        commandListHeading = "%nCommands:%n",
        footer = {"", "Run 'lmspark <command> --help' for a command's flags."},
        subcommands = {
            QuickstartCommand.class,
            SampleCorpusCommand.class,
            TrainTokenizerCommand.class,
            PrepareCommand.class,
            InspectCommand.class,
            VerifyCommand.class,
            TrainCommand.class,
            EvaluateCommand.class,
            ExportCommand.class,
            GenerateCommand.class,
            ReportCommand.class,
            HelpCommand.class
        })
public final class Main implements Runnable {
    /** Exit status of a usage error (bad or missing flag). */
    public static final int USAGE = 2;

    /** Exit status of a job that failed. */
    public static final int FAILED = 1;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a command is required, e.g. quickstart");
    }

    public static void main(String[] args) {
        if (System.getenv("LMSPARK_DEBUG") != null) {
            Configurator.setLevel("org.apache.spark.executor.Executor", Level.WARN);
            Configurator.setLevel("org.apache.spark.scheduler.TaskSetManager", Level.WARN);
        }
        int status =
                run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        SparkSession.getDefaultSession()
                .foreach(
                        s -> {
                            s.stop();
                            return null;
                        });
        System.exit(status);
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit status. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        String[] expanded;
        try {
            expanded = ConfigFile.expand(commandLine(out, err), args);
        } catch (BadInputException e) {
            Secrets.in(args).wrap(err).println("lmspark: " + oneLine(e.getMessage()));
            return USAGE;
        }
        // Nothing printed from here on shows a secret given in the arguments or the --config file.
        Secrets secrets = Secrets.in(expanded);
        return commandLine(secrets.wrap(out), secrets.wrap(err)).execute(expanded);
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setOverwrittenOptionsAllowed(true);
        cli.setParameterExceptionHandler(
                (e, args) -> {
                    e.getCommandLine()
                            .getErr()
                            .println(
                                    prefix(e.getCommandLine())
                                            + oneLine(e.getMessage())
                                            + " (see '"
                                            + e.getCommandLine().getCommandSpec().qualifiedName()
                                            + " --help')");
                    return USAGE;
                });
        cli.setExecutionExceptionHandler(
                (e, command, parsed) -> {
                    PrintWriter w = command.getErr();
                    if (e instanceof TrainStoppedException stopped) {
                        w.println(prefix(command) + stopped.getMessage());
                        return stopped.exitStatus();
                    }
                    Throwable user = userError(e);
                    if (user != null) {
                        w.println(prefix(command) + oneLine(user.getMessage()));
                        // Bad input given by the user is a usage error, even once Spark started.
                        return user instanceof BadInputException ? USAGE : FAILED;
                    } else {
                        w.println(
                                prefix(command)
                                        + "failed: "
                                        + oneLine(String.valueOf(e))
                                        + " (LMSPARK_DEBUG=1 prints the stack trace)");
                        if (System.getenv("LMSPARK_DEBUG") != null) {
                            e.printStackTrace(w);
                        }
                    }
                    return FAILED;
                });
        return cli;
    }

    private static String prefix(CommandLine command) {
        return command.getCommandSpec().qualifiedName() + ": ";
    }

    /** The first bad-input exception in the cause chain (Spark wraps executor failures). */
    static Throwable userError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException) {
                return t;
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException && t.getMessage() != null) {
                return t;
            }
        }
        return null;
    }

    static String oneLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        return message.strip().lines().findFirst().orElse("").strip();
    }
}
