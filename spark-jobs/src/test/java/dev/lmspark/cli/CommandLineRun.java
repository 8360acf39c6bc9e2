package dev.lmspark.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** One in-process run of the {@code lmspark} command line, with what it printed. */
public record CommandLineRun(int status, String out, String err) {

    /** Runs {@code args} through {@link Main#run}. */
    public static CommandLineRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CommandLineRun(status, out.toString(), err.toString());
    }

    /** The lines printed to standard error. */
    public List<String> errLines() {
        return err.lines().toList();
    }

    /**
     * The error lines ("lmspark …: why"), without the progress lines a job prints before failing.
     */
    public List<String> errorLines() {
        return err.lines().filter(l -> l.startsWith("lmspark")).toList();
    }
}
