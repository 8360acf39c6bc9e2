package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import dev.lmspark.model.train.PretrainingTask;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * The training tests' fault injection, a {@link TrainProbe} registered only on the test classpath:
 * the job-local property {@value #PROPERTY} (or the Spark setting {@code spark.}{@value #PROPERTY})
 * {@code worker=W,round=R,afterSteps=K} (or {@code rounds=A-B}) acts after worker W's local step K
 * of round R, with {@code action=throw} (default: the task's first attempt fails), {@code halt}
 * (the executor JVM of the run's first such task dies at once, as if killed; never the driver's),
 * {@code stall} (the first attempt waits up to ten minutes unless cancelled: a long round) or
 * {@code nan} (every attempt: the replica's parameters become NaN, so the loss, the gradients and
 * the AdamW state do too).
 */
public final class FaultProbe implements TrainProbe {
    public static final String PROPERTY = "lmspark.test.failOnce";

    @Override
    public void at(Point point, long round, int worker, int stepsDone, PretrainingTask model) {
        TaskContext task = TaskContext.get();
        if (point != Point.AFTER_STEP || task == null) {
            return;
        }
        String spec = task.getLocalProperty(PROPERTY);
        if (spec == null && SparkEnv.get() != null) {
            spec = SparkEnv.get().conf().get("spark." + PROPERTY, null);
        }
        if (spec == null) {
            return;
        }
        Map<String, String> v = new HashMap<>();
        for (String part : spec.split(",")) {
            String[] kv = part.split("=", 2);
            v.put(kv[0].trim(), kv[1].trim());
        }
        long from = Long.parseLong(v.getOrDefault("round", "-1"));
        long to = from;
        if (v.containsKey("rounds")) {
            String[] ab = v.get("rounds").split("-", 2);
            from = Long.parseLong(ab[0]);
            to = Long.parseLong(ab[1]);
        }
        if (Long.parseLong(v.getOrDefault("worker", "-1")) != worker
                || round < from
                || round > to
                || Long.parseLong(v.getOrDefault("afterSteps", "1")) != stepsDone) {
            return;
        }
        String action = v.getOrDefault("action", "throw");
        if (action.equals("stall") && task.attemptNumber() == 0) {
            for (int i = 0; i < 6000; i++) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                task.killTaskIfInterrupted();
            }
            return;
        }
        if (action.equals("nan")) {
            for (NDArray p : model.parameters().values()) {
                // Through a detached view: the same storage, outside autograd.
                try (NDArray data = p.stopGradient()) {
                    data.muli(Float.NaN);
                }
            }
            return;
        }
        if (task.attemptNumber() != 0) {
            return;
        }
        if (action.equals("halt")) {
            // Once per application: the rerun of the round must not die too. Executors share
            // this machine's temp folder.
            String app = SparkEnv.get().conf().getAppId();
            File once =
                    new File(
                            System.getProperty("java.io.tmpdir"),
                            "lmspark-test-halted-" + app + "-" + worker + "-" + round);
            try {
                if (!"driver".equals(SparkEnv.get().executorId()) && once.createNewFile()) {
                    Runtime.getRuntime().halt(137);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return;
        }
        throw new IllegalStateException(
                "injected failure of worker "
                        + worker
                        + " in round "
                        + round
                        + " after "
                        + stepsDone
                        + " local steps (test)");
    }
}
