package dev.lmspark.spark;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Starts the SparkSession of a command: the master from {@code --master}, else the one spark-submit
 * set, else {@code local[*]}; every {@code --conf} applied as spark-submit would.
 */
public final class SparkSessions {
    private SparkSessions() {}

    /**
     * @param appName shown in the Spark UI and logs
     * @param master {@code --master}, or null
     * @param conf {@code --conf} entries
     */
    public static SparkSession start(String appName, String master, Map<String, String> conf) {
        SparkSession.Builder builder = SparkSession.builder().appName(appName);
        if (master != null) {
            builder.master(master);
        } else if (System.getProperty("spark.master") == null
                && !conf.containsKey("spark.master")) {
            builder.master("local[*]");
        }
        builder.config("spark.ui.showConsoleProgress", "false");
        conf.forEach(builder::config);
        return builder.getOrCreate();
    }
}
