package dev.lmspark.spark;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Starts the SparkSession of a command: the master from {@code --master}, else the one spark-submit
 * set, else {@code local[*]}; every {@code --conf} applied as spark-submit would, and {@code
 * spark.redaction.regex} set to {@link Secrets#REDACTION_REGEX} unless given.
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
        if (System.getProperty("spark.redaction.regex") == null) {
            // Spark's default misses e.g. fs.azure.account.key.* and fs.s3a.access.key.
            builder.config("spark.redaction.regex", Secrets.REDACTION_REGEX);
        }
        conf.forEach(builder::config);
        return builder.getOrCreate();
    }
}
