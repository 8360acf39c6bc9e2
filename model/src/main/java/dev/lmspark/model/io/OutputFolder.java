package dev.lmspark.model.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiConsumer;

/**
 * Where a writer puts the files of one folder (a checkpoint, a Hugging Face model folder), by name.
 * The model library writes only through this, so Spark jobs can back it with a Hadoop {@code
 * FileSystem} and tests with memory.
 */
@FunctionalInterface
public interface OutputFolder {
    /**
     * A new file {@code name} (a plain name, no directories), replacing one of that name; the
     * caller closes the stream, and the file is complete once it is closed.
     */
    OutputStream create(String name) throws IOException;

    /** Files under {@code dir}, which is created when missing. */
    static OutputFolder of(Path dir) {
        return name -> {
            Files.createDirectories(dir);
            return Files.newOutputStream(dir.resolve(name));
        };
    }

    /** Each file's bytes, handed to {@code sink} (name, bytes) when its stream is closed. */
    static OutputFolder of(BiConsumer<String, byte[]> sink) {
        return name ->
                new ByteArrayOutputStream() {
                    private boolean closed;

                    @Override
                    public void close() {
                        if (!closed) {
                            closed = true;
                            sink.accept(name, toByteArray());
                        }
                    }
                };
    }
}
