package dev.lmspark.train;

/**
 * A run that ended before its last round, having published what it could: stopped by SIGTERM or
 * Ctrl-C (exit 143 or 130), or failed (exit 1: a round that failed with no worker state lost, too
 * many non-finite rounds in a row). The command prints the message (one line, naming the checkpoint
 * and what to do) and exits with {@link #exitStatus()}.
 */
public final class TrainStoppedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitStatus;

    TrainStoppedException(String message, int exitStatus, Throwable cause) {
        super(message, cause);
        this.exitStatus = exitStatus;
    }

    /** 143 (SIGTERM), 130 (SIGINT) or 1 (a failure). */
    public int exitStatus() {
        return exitStatus;
    }
}
