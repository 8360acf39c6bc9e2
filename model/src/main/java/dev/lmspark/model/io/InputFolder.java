package dev.lmspark.model.io;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where a reader finds the files of one folder (a checkpoint, a Hugging Face model folder), by
 * name. The model library reads only through this, so Spark jobs can back it with a Hadoop {@code
 * FileSystem} and tests with memory.
 */
public interface InputFolder {
    /**
     * The file {@code name} (a plain name, no directories); the caller closes the stream.
     *
     * @throws FileNotFoundException when there is no such file
     */
    InputStream open(String name) throws IOException;

    /** Whether the folder holds a file {@code name}. */
    boolean exists(String name) throws IOException;

    /** A short description for error messages (the folder's path or URI). */
    String describe();

    /** The files of the directory {@code dir}. */
    static InputFolder of(Path dir) {
        return new InputFolder() {
            @Override
            public InputStream open(String name) throws IOException {
                Path file = dir.resolve(name);
                if (!Files.isRegularFile(file)) {
                    throw new FileNotFoundException(file + " does not exist");
                }
                return Files.newInputStream(file);
            }

            @Override
            public boolean exists(String name) {
                return Files.isRegularFile(dir.resolve(name));
            }

            @Override
            public String describe() {
                return dir.toString();
            }
        };
    }

    /** Files held in memory, by name. */
    static InputFolder of(Map<String, byte[]> files) {
        return new InputFolder() {
            @Override
            public InputStream open(String name) throws IOException {
                byte[] bytes = files.get(name);
                if (bytes == null) {
                    throw new FileNotFoundException(name + " does not exist");
                }
                return new ByteArrayInputStream(bytes);
            }

            @Override
            public boolean exists(String name) {
                return files.containsKey(name);
            }

            @Override
            public String describe() {
                return "an in-memory folder";
            }
        };
    }
}
