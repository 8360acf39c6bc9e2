package dev.lmspark.cli;

import dev.lmspark.BuildInfo;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code lmspark --version}: lmspark's version and the stack it was built against. */
public final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        Properties p = BuildInfo.properties();
        return new String[] {
            "lmspark " + p.getProperty("version", "unknown"),
            "Spark "
                    + p.getProperty("spark", "?")
                    + ", DJL "
                    + p.getProperty("djl", "?")
                    + " (PyTorch "
                    + p.getProperty("libtorch", "?")
                    + "), Java "
                    + System.getProperty("java.version")
        };
    }
}
