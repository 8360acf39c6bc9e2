package dev.lmspark;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * What this build of lmspark is: its version and the stack it was built against, from the {@code
 * dev/lmspark/version.properties} resource Maven filters at build time. The lowest layer: the
 * commands' {@code --version} and every artifact's provenance read it.
 */
public final class BuildInfo {
    private BuildInfo() {}

    /**
     * The build's version properties ({@code version}, {@code spark}, {@code djl}, {@code
     * libtorch}); empty when the resource is missing (classes run outside the jar's build).
     */
    public static Properties properties() {
        Properties p = new Properties();
        try (InputStream in =
                BuildInfo.class.getResourceAsStream("/dev/lmspark/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** lmspark's version, e.g. {@code 0.1.0}; {@code unknown} without the resource. */
    public static String version() {
        return properties().getProperty("version", "unknown");
    }
}
