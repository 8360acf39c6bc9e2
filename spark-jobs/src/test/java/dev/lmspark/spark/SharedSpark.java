package dev.lmspark.spark;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One local SparkSession ({@code local[4,2]}: four threads, a failed task retried once; the system
 * property {@code lmspark.test.master} names another master, as the pom does for the training
 * tests, which run in {@code local[2,2]}) shared by every Spark test of the run, stopped when the
 * run ends (Spark's SharedSparkSession pattern). Use with {@code @ExtendWith(SharedSpark.class)}
 * and {@link #session()}.
 */
public final class SharedSpark implements BeforeAllCallback {
    private static SparkSession session;

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getRoot()
                .getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(
                        SharedSpark.class.getName(),
                        key -> {
                            session = start();
                            return (ExtensionContext.Store.CloseableResource) () -> session.stop();
                        });
    }

    private static SparkSession start() {
        return SparkSession.builder()
                .master(System.getProperty("lmspark.test.master", "local[4,2]"))
                .appName("lmspark-tests")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    /** The shared session. */
    public static SparkSession session() {
        return session;
    }
}
