package dev.lmspark.train;

import java.io.PrintWriter;
import org.apache.spark.SparkContext;
import sun.misc.Signal;

/**
 * SIGTERM and Ctrl-C (SIGINT) for a training driver, handled in its loop: the first signal cancels
 * the round in flight (its tasks are abandoned; the round reruns on {@code --resume}), the loop
 * publishes a checkpoint of the last completed round and the command exits 143 (TERM) or 130 (INT)
 * with one line saying how to resume. Kubernetes sends SIGKILL 30 s after SIGTERM by default, so
 * the loop does nothing else first; a second signal exits at once, losing only the unpublished
 * checkpoint (staging directories are hidden and removed on the next start).
 *
 * <p>Handled with {@code sun.misc.Signal} rather than a shutdown hook, which would race Spark's own
 * hook stopping the context the checkpoint needs.
 */
public final class StopSignal implements AutoCloseable {
    private final java.util.Map<Signal, sun.misc.SignalHandler> previous =
            new java.util.LinkedHashMap<>();
    private volatile String signal;
    private volatile Runnable onSignal = () -> {};

    /** A stop signal that never fires (tests, quickstart's inner runs share the command's). */
    public static StopSignal none() {
        return new StopSignal();
    }

    /**
     * Handles TERM and INT for this JVM's training loop: the first cancels the round in flight (not
     * an evaluation or a checkpoint being written) and makes {@link #requested()} true; the second
     * halts with the signal's exit status.
     */
    public static StopSignal install(SparkContext sc, PrintWriter log) {
        StopSignal stop = new StopSignal();
        stop.onSignal =
                () -> {
                    log.printf(
                            "train: %s received: abandoning the round in flight and publishing a"
                                    + " checkpoint of the last completed one (a second signal"
                                    + " exits at once)%n",
                            stop.signal);
                    sc.cancelJobGroup(TrainingMaster.ROUND_JOB_GROUP);
                };
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal sig = new Signal(name);
                stop.previous.put(sig, Signal.handle(sig, s -> stop.receive("SIG" + s.getName())));
            } catch (IllegalArgumentException e) {
                // The JVM reserves this signal (e.g. -Xrs); it keeps its default action.
            }
        }
        return stop;
    }

    /** Gives the signals back to the handlers they had before {@link #install}. */
    @Override
    public void close() {
        previous.forEach(Signal::handle);
        previous.clear();
    }

    private void receive(String name) {
        if (signal != null) {
            Runtime.getRuntime().halt(exitStatus(name));
        }
        signal = name;
        onSignal.run();
    }

    /** Marks a stop as requested (tests, and the handlers). */
    public void request(String name) {
        receive(name);
    }

    /** Whether a signal asked the run to stop. */
    public boolean requested() {
        return signal != null;
    }

    /** The signal's name (SIGTERM or SIGINT), or null. */
    public String signal() {
        return signal;
    }

    /** 143 after SIGTERM, 130 after SIGINT: 128 + the signal number, as a shell reports it. */
    public static int exitStatus(String signal) {
        return "SIGINT".equals(signal) ? 130 : 143;
    }
}
