package dev.lmspark.jobs;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.HadoopPaths;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * {@code sample-corpus}: writes the built-in generated corpus as JSONL files {@code
 * part-NNNNN.jsonl} of about {@link #FILE_BYTES} each, one {@code {"text": …}} document per line,
 * until the requested size is reached. Generation is sequential on the driver (it is much faster
 * than anything that reads the corpus) and deterministic: the same kind, seed and size give the
 * same bytes.
 */
public final class SampleCorpusJob {
    /** Target size of one output file. */
    public static final long FILE_BYTES = 16L << 20;

    /**
     * @param output directory to create
     * @param kind prose or code
     * @param sizeMb total size in MiB (fractions allowed)
     * @param seed root seed
     * @param overwrite replace an existing output
     */
    public record Config(
            String output, SampleCorpus.Kind kind, double sizeMb, long seed, boolean overwrite) {
        public Config {
            HadoopPaths.check("--output", output);
            if (!(sizeMb > 0) || sizeMb > 1 << 20) {
                throw new BadInputException(
                        "--size-mb " + sizeMb + " must be above 0 (and at most 1048576)");
            }
        }
    }

    /** What was written. */
    public record Result(String output, long documents, long bytes, int files, double seconds) {}

    private SampleCorpusJob() {}

    public static Result run(Config config, Configuration hadoop, PrintWriter progress) {
        long start = System.nanoTime();
        long limit = (long) Math.ceil(config.sizeMb() * (1 << 20));
        SampleCorpus corpus = new SampleCorpus(config.kind(), config.seed());
        long docs = 0;
        long bytes = 0;
        int files = 0;
        try (AtomicOutput out =
                AtomicOutput.begin(
                        "--output", new Path(config.output()), config.overwrite(), hadoop)) {
            while (bytes < limit) {
                Path file = new Path(out.temporary(), String.format("part-%05d.jsonl", files++));
                long fileBytes = 0;
                try (OutputStream os = out.fileSystem().create(file, false)) {
                    while (bytes < limit && fileBytes < FILE_BYTES) {
                        byte[] line = corpus.jsonLine(docs++);
                        os.write(line);
                        fileBytes += line.length;
                        bytes += line.length;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + file, e);
                }
                if (files % 8 == 0) {
                    progress.printf(
                            "sample-corpus: %,d documents, %.1f MiB%n", docs, bytes / 1048576.0);
                }
            }
            out.publish();
            return new Result(
                    out.target().toString(), docs, bytes, files, (System.nanoTime() - start) / 1e9);
        }
    }
}
