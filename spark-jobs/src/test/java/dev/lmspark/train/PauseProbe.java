package dev.lmspark.train;

import dev.lmspark.model.train.PretrainingTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.spark.TaskContext;

/**
 * Deterministic pause points for tests that kill a process from outside at a chosen moment: a
 * {@link TrainProbe} registered only on the test classpath. When the environment names a folder in
 * {@value #DIR_ENV} and the test has put a file {@code pause-<POINT>-<round>} there, the first JVM
 * to reach that point of that round (after local step 1, for {@code AFTER_STEP}) renames it to
 * {@code paused-<POINT>-<round>-<pid>} and waits until the test deletes that file (at most two
 * minutes, or until its Spark task is cancelled) — by then the test has usually killed a process.
 * Every other point passes straight on.
 */
public final class PauseProbe implements TrainProbe {
    /** The environment variable naming the folder of pause requests. */
    public static final String DIR_ENV = "LMSPARK_TEST_PAUSE_DIR";

    @Override
    public void at(Point point, long round, int worker, int index, PretrainingTask model) {
        String dir = System.getenv(DIR_ENV);
        if (dir == null || (point == Point.AFTER_STEP && index != 1)) {
            return;
        }
        Path request = Path.of(dir, "pause-" + point + "-" + round);
        Path paused =
                Path.of(dir, "paused-" + point + "-" + round + "-" + ProcessHandle.current().pid());
        try {
            Files.move(request, paused, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            return; // not asked for, or another JVM claimed it
        }
        long deadline = System.nanoTime() + 120_000_000_000L;
        TaskContext task = TaskContext.get(); // null on the driver
        while (Files.exists(paused) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (task != null) {
                task.killTaskIfInterrupted(); // a cancelled round (a stop signal) ends the wait
            }
        }
    }
}
