package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An output directory (or, with {@link #writeFile}, one file) that appears whole or not at all.
 * Files are written into a hidden sibling {@code .<name>.lmspark-tmp-<uuid>}; {@link #publish()}
 * renames it to the final name (moving an existing output aside first when overwriting, and
 * deleting it after). Closing without publishing deletes the temporary directory, so a failed job
 * leaves nothing half-written behind.
 */
public final class AtomicOutput implements AutoCloseable {
    private final FileSystem fs;
    private final Path target;
    private final Path temporary;
    private final boolean overwrite;
    private boolean published;

    private AtomicOutput(FileSystem fs, Path target, boolean overwrite) {
        this.fs = fs;
        this.target = target;
        this.overwrite = overwrite;
        this.temporary =
                new Path(
                        target.getParent(),
                        "." + target.getName() + ".lmspark-tmp-" + UUID.randomUUID());
    }

    /**
     * Starts an output at {@code target}.
     *
     * @param flag the flag that named it, for error messages
     * @throws BadInputException when it exists and {@code overwrite} is false
     */
    public static AtomicOutput begin(
            String flag, Path target, boolean overwrite, Configuration conf) {
        FileSystem fs = HadoopPaths.fileSystem(target, conf);
        Path qualified = fs.makeQualified(target);
        checkTarget(flag, fs, qualified, overwrite);
        AtomicOutput out = new AtomicOutput(fs, qualified, overwrite);
        try {
            fs.mkdirs(out.temporary);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out.temporary, e);
        }
        return out;
    }

    /**
     * Writes one file at {@code target} whole or not at all: {@code content} goes to a hidden
     * sibling first, which is then renamed as {@link #publish()} renames a directory.
     *
     * @param flag the flag that named it, for error messages
     * @throws BadInputException when it exists and {@code overwrite} is false, or is a directory
     */
    public static void writeFile(
            String flag, Path target, boolean overwrite, Configuration conf, byte[] content) {
        FileSystem fs = HadoopPaths.fileSystem(target, conf);
        Path qualified = fs.makeQualified(target);
        checkTarget(flag, fs, qualified, overwrite);
        try {
            if (fs.getFileStatus(qualified).isDirectory()) {
                throw new BadInputException(
                        flag + " " + qualified + " is a directory; give a file name instead");
            }
        } catch (FileNotFoundException e) {
            // The usual case: nothing there yet.
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + qualified, e);
        }
        try (AtomicOutput out = new AtomicOutput(fs, qualified, overwrite)) {
            try (OutputStream s = fs.create(out.temporary, false)) {
                s.write(content);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + out.temporary, e);
            }
            out.publish();
        }
    }

    /** Refuses an existing output unless overwriting; checkable before any work starts. */
    public static void checkTarget(String flag, FileSystem fs, Path target, boolean overwrite) {
        try {
            if (fs.exists(target) && !overwrite) {
                throw new BadInputException(
                        flag
                                + " "
                                + target
                                + " already exists; choose another path or add --overwrite");
            }
            if (target.getParent() == null) {
                throw new BadInputException(flag + " " + target + " cannot be a file system root");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + target, e);
        }
    }

    /** The final location. */
    public Path target() {
        return target;
    }

    /** Where files go until {@link #publish()}. */
    public Path temporary() {
        return temporary;
    }

    /** The file system of the output. */
    public FileSystem fileSystem() {
        return fs;
    }

    /** Writes one file, {@code relative} to the output root, into the temporary directory. */
    public void write(String relative, byte[] content) {
        try (OutputStream out = fs.create(new Path(temporary, relative), true)) {
            out.write(content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + relative + " under " + temporary, e);
        }
    }

    /** Makes the output visible under its final name. */
    public void publish() {
        try {
            Path old = null;
            if (fs.exists(target)) {
                if (!overwrite) {
                    throw new BadInputException(
                            target + " appeared while this job ran; nothing was replaced");
                }
                old =
                        new Path(
                                target.getParent(),
                                "." + target.getName() + ".lmspark-old-" + UUID.randomUUID());
                rename(target, old);
            }
            rename(temporary, target);
            published = true;
            if (old != null) {
                fs.delete(old, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + target, e);
        }
    }

    private void rename(Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("rename " + from + " -> " + to + " failed");
        }
    }

    /** Deletes the temporary directory unless the output was published. */
    @Override
    public void close() {
        if (!published) {
            try {
                fs.delete(temporary, true);
            } catch (IOException e) {
                // Best effort: the hidden directory is the only leftover and is named as such.
            }
        }
    }
}
