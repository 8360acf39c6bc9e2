package dev.lmspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code metrics.jsonl} of a training output: one compact JSON object per round (keys in
 * docs/metrics.md). After every round the whole file is rewritten through a temporary file renamed
 * over it, so a reader (e.g. {@code report} during a run) never sees a partial line, on any Hadoop
 * file system. On resume, records after the checkpoint's round are dropped first.
 */
final class MetricsLog {
    static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileSystem fs;
    private final Path file;
    private final List<String> lines = new ArrayList<>();

    private MetricsLog(FileSystem fs, Path output) {
        this.fs = fs;
        this.file = new Path(output, FILE);
    }

    /** A new, empty log (an existing file is replaced at the first record). */
    static MetricsLog start(FileSystem fs, Path output) {
        return new MetricsLog(fs, output);
    }

    /** The existing log, keeping only records of rounds up to {@code round}. */
    static MetricsLog resume(FileSystem fs, Path output, long round) throws IOException {
        MetricsLog log = new MetricsLog(fs, output);
        if (fs.isFile(log.file)) {
            try (BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(fs.open(log.file), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode record;
                    try {
                        record = JSON.readTree(line);
                    } catch (IOException e) {
                        continue; // a partial last line of an interrupted write
                    }
                    if (record.path("round").asLong(Long.MAX_VALUE) <= round) {
                        log.lines.add(line);
                    }
                }
            }
        }
        log.flush();
        return log;
    }

    /** Appends {@code record} and rewrites the file. */
    void append(ObjectNode record) throws IOException {
        lines.add(JSON.writeValueAsString(record));
        flush();
    }

    /** Replaces the last record (the same round, completed) and rewrites the file. */
    void replaceLast(ObjectNode record) throws IOException {
        lines.set(lines.size() - 1, JSON.writeValueAsString(record));
        flush();
    }

    /** The records so far. */
    List<JsonNode> records() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private void flush() throws IOException {
        Path tmp = new Path(file.getParent(), "." + FILE + "." + UUID.randomUUID());
        try (OutputStream out = fs.create(tmp, true)) {
            for (String line : lines) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        if (!fs.rename(tmp, file)) {
            fs.delete(file, false);
            if (!fs.rename(tmp, file)) {
                throw new IOException("cannot write " + file);
            }
        }
    }
}
