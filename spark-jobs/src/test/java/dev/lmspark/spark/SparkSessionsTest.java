package dev.lmspark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SparkSessionsTest {
    @Test
    void aConfOfJavaOptionsAddsToTheLaunchersInsteadOfReplacingThem() {
        String key = "spark.executor.extraJavaOptions";
        String before = System.getProperty(key);
        try {
            System.setProperty(
                    key, "-Dai.djl.offline=true --add-opens=java.base/java.nio=ALL-UNNAMED");
            assertEquals(
                    "-Dai.djl.offline=true --add-opens=java.base/java.nio=ALL-UNNAMED -XX:+UseG1GC",
                    SparkSessions.merged(key, "-XX:+UseG1GC"));
            // spark-submit already merged it (the launcher passes one combined value): kept once.
            System.setProperty(key, "-Dai.djl.offline=true -XX:+UseG1GC");
            assertEquals(
                    "-Dai.djl.offline=true -XX:+UseG1GC",
                    SparkSessions.merged(key, "-XX:+UseG1GC"));
            System.clearProperty(key);
            assertEquals("-XX:+UseG1GC", SparkSessions.merged(key, "-XX:+UseG1GC"));
            assertEquals("8g", SparkSessions.merged("spark.executor.memory", "8g"));
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }
}
