package dev.lmspark.spark;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;

/**
 * The data-preparation tests' fault injection, a {@link TaskRowsProbe} registered only on the test
 * classpath: when the job-local property {@value #PROPERTY} names a stage, the first attempt of
 * that stage's partition 0 fails after handing out one row, as a task dying midway would. Nothing
 * happens unless a test sets the property (with {@code SparkContext.setLocalProperty}) on the
 * thread that submits the job.
 */
public final class FailOnceProbe implements TaskRowsProbe {
    /** The local property naming the stage to fail once. */
    public static final String PROPERTY = "lmspark.test.failStageOnce";

    @Override
    public <T> Iterator<T> rows(String stage, Iterator<T> rows) {
        TaskContext task = TaskContext.get();
        if (task == null
                || !stage.equals(task.getLocalProperty(PROPERTY))
                || task.attemptNumber() != 0
                || task.partitionId() != 0) {
            return rows;
        }
        return new Iterator<>() {
            private int handed;

            @Override
            public boolean hasNext() {
                if (handed >= 1) {
                    throw new IllegalStateException(
                            "injected failure in stage " + stage + " (test)");
                }
                return rows.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                handed++;
                return rows.next();
            }
        };
    }
}
