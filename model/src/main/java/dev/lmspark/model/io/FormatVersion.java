package dev.lmspark.model.io;

import java.io.IOException;

/** The {@code format_version} check every lmspark reader makes. */
final class FormatVersion {
    private FormatVersion() {}

    /**
     * Accepts a version from 1 up to {@code supported}.
     *
     * @param file the file, for the message
     * @param found the recorded version as text, or null when there is none
     * @throws IOException naming the file and both versions
     */
    static void check(String file, String found, int supported) throws IOException {
        if (found == null) {
            throw new IOException(
                    file + " records no format_version: it was not written by lmspark");
        }
        int version;
        try {
            version = Integer.parseInt(found.strip());
        } catch (NumberFormatException e) {
            throw new IOException(file + ": format_version '" + found + "' is not a number");
        }
        if (version < 1 || version > supported) {
            throw new IOException(
                    file
                            + ": unsupported format_version: found "
                            + version
                            + ", this lmspark reads up to "
                            + supported
                            + (version > supported ? " (written by a newer lmspark?)" : ""));
        }
    }
}
