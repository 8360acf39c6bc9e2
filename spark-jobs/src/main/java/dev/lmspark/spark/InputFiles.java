package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The files behind {@code --input}: globs expanded, directories walked (files whose names start
 * with {@code _} or {@code .} skipped, as Hadoop does), every file once, sorted by full path — the
 * order that defines document indices.
 */
public final class InputFiles {
    private InputFiles() {}

    /** One input file. */
    public record File(String path, long size, long modificationTime) implements Serializable {}

    /**
     * @throws BadInputException when a pattern matches nothing
     */
    public static List<File> list(List<String> inputs, Configuration conf) {
        TreeMap<String, File> files = new TreeMap<>();
        for (String input : inputs) {
            Path pattern = HadoopPaths.check("--input", input);
            FileSystem fs = HadoopPaths.fileSystem(pattern, conf);
            try {
                FileStatus[] matches = fs.globStatus(pattern);
                if (matches == null || matches.length == 0) {
                    throw new BadInputException(
                            "--input " + input + " matches no file; check the path or glob");
                }
                for (FileStatus status : matches) {
                    collect(fs, status, files);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list --input " + input, e);
            }
        }
        return new ArrayList<>(files.values());
    }

    private static void collect(FileSystem fs, FileStatus status, TreeMap<String, File> files)
            throws IOException {
        String name = status.getPath().getName();
        if (name.startsWith("_") || name.startsWith(".")) {
            return;
        }
        if (status.isDirectory()) {
            for (FileStatus child : fs.listStatus(status.getPath())) {
                collect(fs, child, files);
            }
        } else {
            String path = status.getPath().toString();
            files.put(path, new File(path, status.getLen(), status.getModificationTime()));
        }
    }
}
