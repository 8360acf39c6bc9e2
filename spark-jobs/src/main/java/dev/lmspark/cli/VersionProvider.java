package dev.lmspark.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code lmspark --version}: lmspark's version and the stack it was built against. */
public final class VersionProvider implements IVersionProvider {

    /**
     * The build's version properties ({@code version}, {@code spark}, {@code djl}, {@code
     * libtorch}).
     */
    public static Properties buildInfo() {
        Properties p = new Properties();
        try (InputStream in =
                VersionProvider.class.getResourceAsStream("/dev/lmspark/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** lmspark's version, e.g. {@code 0.1.0}. */
    public static String version() {
        return buildInfo().getProperty("version", "unknown");
    }

    @Override
    public String[] getVersion() {
        Properties p = buildInfo();
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
