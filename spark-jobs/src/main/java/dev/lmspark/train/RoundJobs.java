package dev.lmspark.train;

import dev.lmspark.data.BadInputException;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.rdd.RDD;

/**
 * How the driver runs a round's Spark job and reads its failures: waiting with the stop signal in
 * view, freeing a finished round's shuffle, and turning a job's failure into one line for a person
 * (the innermost cause, an executor out of memory named as such).
 */
final class RoundJobs {
    private RoundJobs() {}

    /**
     * Waits for a job, polling {@code stop}: a stop signal cancels the job (its tasks stop after
     * their current local step) even if it arrived before the job was submitted.
     */
    static <T> T await(JavaFutureAction<T> job, StopSignal stop) throws Exception {
        while (true) {
            try {
                return job.get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (stop.requested()) {
                    job.cancel(true);
                }
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
    }

    /**
     * Frees the shuffle files of a round's job on every executor now (a round's shuffle is as large
     * as K updates; Spark's own cleaner would wait for the driver's garbage collector).
     */
    static void cleanShuffles(SparkContext sc, RDD<?> rdd) {
        Deque<RDD<?>> todo = new ArrayDeque<>();
        todo.push(rdd);
        while (!todo.isEmpty()) {
            RDD<?> r = todo.pop();
            var it = r.dependencies().iterator();
            while (it.hasNext()) {
                var d = it.next();
                if (d instanceof ShuffleDependency<?, ?, ?> shuffle && sc.cleaner().isDefined()) {
                    sc.cleaner().get().doCleanupShuffle(shuffle.shuffleId(), false);
                }
                todo.push(d.rdd());
            }
        }
    }

    /** The line a run ends with when round {@code round} failed for good. */
    static TrainStoppedException failed(long round, Exception e, String published) {
        return new TrainStoppedException(
                String.format(
                        "round %d failed: %s%s. %s",
                        round,
                        taskError(e),
                        memoryNote(e),
                        published == null
                                ? "Nothing was published yet: once the cause is fixed, start the"
                                        + " run again with --overwrite"
                                : "The last published checkpoint is "
                                        + published
                                        + "; once the cause is fixed, continue with --resume"),
                1,
                e);
    }

    /**
     * The first line of what failed in a task, from a Spark job failure: the innermost cause's
     * message (e.g. the shard that is missing), else the task's error from the message.
     */
    static String taskError(Throwable e) {
        Throwable root = e;
        Throwable outer = null; // the outermost cause that is not Spark's wrapping
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
            if (outer == null && !(root instanceof org.apache.spark.SparkException)) {
                outer = root;
            }
        }
        String message = root.getMessage() == null ? root.toString() : root.getMessage();
        if (outer != null && outer != root && outer.getMessage() != null) {
            // lmspark's own words, two levels deep: "worker 1 cannot read its rows of round 4:
            // …/part-00002.parquet is missing …", not the file system's.
            Throwable why = outer.getCause();
            message =
                    outer.getMessage()
                            + ": "
                            + (why.getMessage() == null ? why.toString() : why.getMessage());
        }
        if (root == e) {
            // Executor failures reach the driver as text: the last "Caused by:" is the innermost.
            Matcher m = TASK_ERROR.matcher(message);
            String last = null;
            while (m.find()) {
                last = m.group(1);
            }
            if (last != null) {
                message = last;
            }
        }
        return message.strip().lines().findFirst().orElse("").strip();
    }

    private static final Pattern TASK_ERROR =
            Pattern.compile(
                    "(?m)^(?:Caused by: |.*Lost task .*?\\): )[\\w.$]+(?:Exception|Error): (.*)$");

    /**
     * What to raise when an executor or task died of memory: an {@code OutOfMemoryError} or Spark's
     * exit code 52 (the JVM heap), or exit code 137 (killed, as a container manager kills a process
     * over its memory limit: mostly libtorch's native memory); empty otherwise.
     */
    static String memoryNote(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof OutOfMemoryError
                    || m.contains("OutOfMemoryError")
                    || m.matches("(?s).*exit(ed with)? code:? 52\\b.*")) {
                return " (an executor ran out of heap: raise spark.executor.memory, or"
                        + " LMSPARK_DRIVER_MEMORY in local mode)";
            }
            if (m.matches("(?s).*exit(ed with)? code:? 137\\b.*")) {
                return " (an executor was killed, as a container manager kills one over its memory"
                        + " limit: raise spark.executor.memoryOverhead, which holds libtorch's"
                        + " native memory, see docs/scaling.md)";
            }
        }
        return "";
    }

    /** Whether a {@link BadInputException} is in {@code e}'s cause chain. */
    static boolean isBadInput(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException) {
                return true;
            }
        }
        return false;
    }

    /** Warns when there are fewer task slots than workers (they would wait for each other). */
    static void warnAboutSlots(SparkContext sc, int workers, PrintWriter log) {
        int slots;
        if (sc.isLocal()) {
            slots = sc.defaultParallelism();
        } else {
            int executors = Math.max(1, sc.getExecutorMemoryStatus().size() - 1);
            int cores = sc.conf().getInt("spark.executor.cores", 1);
            slots =
                    executors
                            * Math.max(
                                    1, cores / Math.max(1, sc.conf().getInt("spark.task.cpus", 1)));
        }
        if (workers > slots) {
            log.printf(
                    "train: warning: --workers %d is more than the %d task slot(s) Spark has now;"
                            + " workers will wait for each other every round%n",
                    workers, slots);
        }
    }
}
