package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import java.util.List;
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
        if (master != null
                && (master.equals("yarn") || master.matches("(k8s|spark)://.*"))
                && System.getProperty("spark.master") == null) {
            // Started as a plain JVM (a --config master the launcher did not see, or java -cp):
            // a cluster master needs spark-submit, which ships the application and its jars.
            throw new BadInputException(
                    "--master "
                            + master
                            + " needs spark-submit; run the command through deploy/bin/lmspark"
                            + " with --master "
                            + master
                            + " on its command line (and SPARK_HOME set)");
        }
        if (master != null) {
            builder.master(master);
        } else if (System.getProperty("spark.master") == null
                && !conf.containsKey("spark.master")) {
            builder.master("local[*]");
        }
        builder.config("spark.ui.showConsoleProgress", "false");
        if (System.getProperty("spark.redaction.regex") == null) {
            // Spark's default misses e.g. fs.azure.account.key.* and *.credentials.
            builder.config("spark.redaction.regex", Secrets.REDACTION_REGEX);
        }
        conf.forEach((key, value) -> builder.config(key, merged(key, value)));
        return builder.getOrCreate();
    }

    /** JVM flags the launcher sets and a {@code --conf} of the same key must not drop. */
    static final List<String> JAVA_OPTIONS =
            List.of("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions");

    /**
     * {@code value}, or for {@link #JAVA_OPTIONS} the flags already set (by the launcher, or by
     * spark-submit as a system property) followed by {@code value}: a user's GC flags must not drop
     * {@code -Dai.djl.offline=true} or the {@code --add-opens} Spark needs on Java 17.
     */
    static String merged(String key, String value) {
        String set = System.getProperty(key);
        if (!JAVA_OPTIONS.contains(key) || set == null || set.isBlank()) {
            return value;
        }
        return set.contains(value) ? set : set.strip() + " " + value;
    }
}
