package dev.lmspark.train;

import com.sun.management.GcInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * What the driver itself costs, for {@code metrics.jsonl}: the bytes that tasks sent it (the sum of
 * their results' serialized sizes, as Spark's task metrics count them) and its old-generation heap
 * right after the last collection — what the driver really keeps, without forcing a collection.
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
     * The old generation's used heap right after the JVM's most recent collection (of whichever
     * generation), MiB, as that collector reported it: what the driver really keeps, without
     * forcing a collection. -1 before the first collection.
     */
    static double oldGenerationMb() {
        GcInfo last = null;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof com.sun.management.GarbageCollectorMXBean g) {
                GcInfo info = g.getLastGcInfo();
                if (info != null && (last == null || info.getEndTime() > last.getEndTime())) {
                    last = info;
                }
            }
        }
        if (last == null) {
            return -1;
        }
        long used = 0;
        for (Map.Entry<String, MemoryUsage> e : last.getMemoryUsageAfterGc().entrySet()) {
            String pool = e.getKey();
            if (pool.contains("Old") || pool.contains("Tenured")) {
                used += e.getValue().getUsed();
            }
        }
        return Math.round(used / 1048576.0 * 10) / 10.0;
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
