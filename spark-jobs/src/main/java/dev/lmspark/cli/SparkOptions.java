package dev.lmspark.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The flags every command takes: where Spark runs, Spark settings, and a file of flags. */
public final class SparkOptions {

    @Option(
            names = "--master",
            paramLabel = "URL",
            description =
                    "Spark master, e.g. local[4], yarn, k8s://…, spark://host:7077 (default: what"
                            + " spark-submit set, else local[*]).")
    String master;

    @Option(
            names = "--conf",
            paramLabel = "KEY=VALUE",
            description = "A Spark setting, as spark-submit takes it; repeatable.")
    Map<String, String> conf = new LinkedHashMap<>();

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description =
                    "A JSON or YAML file of this command's flags (keys without the dashes);"
                            + " flags on the command line win.")
    String config;

    /** {@code --master}, or null. */
    public String master() {
        return master;
    }

    /** {@code --conf} entries, in the order given. */
    public Map<String, String> conf() {
        return conf;
    }
}
