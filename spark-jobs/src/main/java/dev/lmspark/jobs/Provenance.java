package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.BuildInfo;

/**
 * Where an artifact (a dataset manifest, a checkpoint's trainer_state.json) came from, so a result
 * can be traced and reproduced: the lmspark version and git commit (the launcher passes {@code
 * -Dlmspark.git.commit}; null when unknown), the Spark version, the JVM and the OS.
 */
public final class Provenance {
    private Provenance() {}

    /** The provenance fields as a JSON object, for {@code sparkVersion}. */
    public static ObjectNode of(String sparkVersion) {
        ObjectNode p = JsonNodeFactory.instance.objectNode();
        p.put("lmspark_version", BuildInfo.version());
        String commit = System.getProperty("lmspark.git.commit");
        if (commit == null || commit.isBlank()) {
            p.putNull("git_commit");
        } else {
            p.put("git_commit", commit);
        }
        p.put("spark_version", sparkVersion);
        p.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        p.put(
                "os",
                System.getProperty("os.name")
                        + " "
                        + System.getProperty("os.version")
                        + " "
                        + System.getProperty("os.arch"));
        return p;
    }
}
