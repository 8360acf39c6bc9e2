package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import java.io.IOException;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Hadoop paths as users give them: {@code file:}, {@code hdfs:}, {@code s3a:} … or a bare local
 * path. Credentials embedded in a URI ({@code s3a://key:secret@bucket/…}) are refused — Hadoop 3
 * ignores them — and never echoed back.
 */
public final class HadoopPaths {
    private static final Pattern USER_INFO = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@");

    private HadoopPaths() {}

    /**
     * Checks a path given with {@code flag} and returns it as a Hadoop path.
     *
     * @throws BadInputException when the path is blank or carries credentials
     */
    public static Path check(String flag, String path) {
        if (path == null || path.isBlank()) {
            throw new BadInputException(flag + " is empty; give a path such as data/corpus.jsonl");
        }
        if (USER_INFO.matcher(path).find()) {
            String scheme = path.substring(0, path.indexOf(':'));
            throw new BadInputException(
                    flag
                            + " has credentials embedded in its "
                            + scheme
                            + ":// URI, which Hadoop 3 ignores and lmspark refuses; remove them and"
                            + " configure the file system instead (e.g. --conf"
                            + " spark.hadoop.fs.s3a.aws.credentials.provider=…)");
        }
        return new Path(path);
    }

    /**
     * A Hadoop configuration carrying the {@code spark.hadoop.*} entries of {@code sparkConf}, for
     * commands that touch files without starting Spark.
     */
    public static Configuration configuration(Map<String, String> sparkConf) {
        Configuration conf = new Configuration();
        sparkConf.forEach(
                (k, v) -> {
                    if (k.startsWith("spark.hadoop.")) {
                        conf.set(k.substring("spark.hadoop.".length()), v);
                    }
                });
        return conf;
    }

    /**
     * The file system of {@code path}, with a one-line error when it cannot be reached. On the
     * local file system no {@code .crc} side files are written: they only clutter a user's
     * directories.
     */
    public static FileSystem fileSystem(Path path, Configuration conf) {
        try {
            FileSystem fs = path.getFileSystem(conf);
            if (fs instanceof LocalFileSystem) {
                fs.setWriteChecksum(false);
            }
            return fs;
        } catch (IOException e) {
            throw new BadInputException(
                    "cannot open the file system of " + path + ": " + e.getMessage(), e);
        }
    }
}
