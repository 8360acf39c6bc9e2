package dev.lmspark.spark;

import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.OutputFolder;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The model library's {@link InputFolder} and {@link OutputFolder} over a Hadoop {@link
 * FileSystem}, so checkpoints and Hugging Face folders are read and written on {@code file:},
 * {@code hdfs:}, {@code s3a:} … alike.
 */
public final class HadoopFolders {
    private HadoopFolders() {}

    /** The files of directory {@code dir} on {@code fs}. */
    public static InputFolder input(FileSystem fs, Path dir) {
        return new InputFolder() {
            @Override
            public InputStream open(String name) throws IOException {
                Path file = new Path(dir, name);
                if (!fs.isFile(file)) {
                    throw new FileNotFoundException(file + " does not exist");
                }
                return fs.open(file);
            }

            @Override
            public boolean exists(String name) throws IOException {
                return fs.isFile(new Path(dir, name));
            }

            @Override
            public String describe() {
                return dir.toString();
            }
        };
    }

    /** Files under directory {@code dir} on {@code fs}, which is created when missing. */
    public static OutputFolder output(FileSystem fs, Path dir) {
        return name -> fs.create(new Path(dir, name), true);
    }
}
