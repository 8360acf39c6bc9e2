package dev.lmspark.train;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * What the driver itself costs, for {@code metrics.jsonl}: the bytes that tasks sent it (the sum of
 * their results' serialized sizes, as Spark's task metrics count them) and its old-generation heap
 * after the last collection — what the driver really keeps, without forcing a collection.
 */
final class DriverTelemetry extends SparkListener implements AutoCloseable {
    private final SparkContext sc;
    private final AtomicLong bytesIn = new AtomicLong();

    DriverTelemetry(SparkContext sc) {
        this.sc = sc;
        sc.addSparkListener(this);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
            bytesIn.addAndGet(end.taskMetrics().resultSize());
        }
    }

    /** The task result bytes since the last call. */
    long takeBytesIn() {
        return bytesIn.getAndSet(0);
    }

    /**
     * The old generation's used heap after the JVM's last collection of it, MiB; -1 where no pool
     * reports one (then: all heap pools' usage after collection, summed).
     */
    static double oldGenerationMb() {
        long used = -1;
        long all = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage after = pool.getCollectionUsage();
            if (pool.getType() != MemoryType.HEAP || after == null) {
                continue;
            }
            all += after.getUsed();
            String name = pool.getName();
            if (name.contains("Old") || name.contains("Tenured")) {
                used = after.getUsed();
            }
        }
        long bytes = used >= 0 ? used : all;
        return Math.round(bytes / 1048576.0 * 10) / 10.0;
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
