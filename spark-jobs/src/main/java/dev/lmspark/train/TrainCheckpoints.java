package dev.lmspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.io.OutputFolder;
import dev.lmspark.spark.CheckpointDirectory;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The checkpoints of a training output directory (see docs/checkpoint-format.md): {@code
 * checkpoints/round-NNNNNN/} directories, each written into a hidden staging directory ({@code
 * .round-NNNNNN.staging-<uuid>}, never a {@code round-NNNNNN} name) and renamed into place when
 * complete, then {@code checkpoints/latest} naming it, written last and atomically. Every file's
 * size and SHA-256 is recorded in {@value #STATE_FILE} as it is written, for {@code verify
 * --checkpoint}.
 */
public final class TrainCheckpoints {
    /** The run's state in a checkpoint: round, step, data position, config, file hashes. */
    public static final String STATE_FILE = "trainer_state.json";

    /** The outer optimizer's state in a checkpoint. */
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";

    /** The folder of the workers' inner optimizer states. */
    public static final String WORKERS_DIR = "workers";

    /** The trainer_state.json version this lmspark writes and reads. */
    public static final int FORMAT_VERSION = 1;

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern ROUND = Pattern.compile("round-\\d{6}");

    private TrainCheckpoints() {}

    /** {@code round-NNNNNN}. */
    public static String name(long round) {
        return String.format("round-%06d", round);
    }

    /** {@code workers/worker-NNNNN.safetensors}. */
    public static String workerFile(int worker) {
        return String.format("%s/worker-%05d.safetensors", WORKERS_DIR, worker);
    }

    /**
     * {@code workers/worker-NNNNN.delta-error.safetensors}: the error feedback of a worker's
     * compressed updates ({@code --delta-precision bf16|int8} only).
     */
    public static String deltaErrorFile(int worker) {
        return String.format("%s/worker-%05d.delta-error.safetensors", WORKERS_DIR, worker);
    }

    /**
     * Reads worker {@code worker}'s optimizer state file ({@link #workerFile}) from checkpoint-like
     * folder {@code dir}; called on executors, with the job's Hadoop configuration.
     */
    static byte[] readWorkerState(Configuration hadoop, String dir, int worker) throws IOException {
        Path file = new Path(dir, workerFile(worker));
        try (InputStream in = file.getFileSystem(hadoop).open(file)) {
            return in.readAllBytes();
        }
    }

    /** Writes {@code state} into folder {@code dir} as {@link #workerFile}; the executors' side. */
    static void writeWorkerState(Configuration hadoop, String dir, int worker, byte[] state)
            throws IOException {
        Path file = new Path(dir, workerFile(worker));
        try (OutputStream o = file.getFileSystem(hadoop).create(file, true)) {
            o.write(state);
        }
    }

    /** {@code <output>/checkpoints}. */
    public static Path directory(Path output) {
        return new Path(output, CheckpointDirectory.CHECKPOINTS);
    }

    /** Removes staging directories an interrupted run left behind. */
    static void removeStaging(FileSystem fs, Path output) throws IOException {
        Path dir = directory(output);
        if (!fs.exists(dir)) {
            return;
        }
        for (FileStatus f : fs.listStatus(dir)) {
            if (f.getPath().getName().startsWith(".round-")) {
                fs.delete(f.getPath(), true);
            }
        }
    }

    /** A new hidden staging directory for round {@code round}'s checkpoint. */
    static Path staging(FileSystem fs, Path output, long round) throws IOException {
        Path p = new Path(directory(output), "." + name(round) + ".staging-" + UUID.randomUUID());
        fs.mkdirs(p);
        return p;
    }

    /**
     * Files under {@code dir} (names may contain one folder level, e.g. {@code tokenizer/…}), each
     * one's size and SHA-256 put into {@code hashes} when its stream is closed.
     */
    static OutputFolder hashing(
            FileSystem fs, Path dir, String prefix, Map<String, FileHash> hashes) {
        return name -> {
            MessageDigest digest = sha256();
            OutputStream raw = fs.create(new Path(dir, name), true);
            return new FilterOutputStream(raw) {
                long bytes;

                @Override
                public void write(int b) throws IOException {
                    raw.write(b);
                    digest.update((byte) b);
                    bytes++;
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    raw.write(b, off, len);
                    digest.update(b, off, len);
                    bytes += len;
                }

                @Override
                public void close() throws IOException {
                    raw.close();
                    hashes.put(
                            prefix + name,
                            new FileHash(bytes, HexFormat.of().formatHex(digest.digest())));
                }
            };
        };
    }

    /** A file's recorded size and SHA-256. */
    public record FileHash(long bytes, String sha256) implements java.io.Serializable {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 of {@code bytes}, hex. */
    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    /**
     * Renames {@code staging} to {@code round-NNNNNN}, then points {@code latest} at it, then
     * deletes all but the newest {@code keep} checkpoints (0: keeps all).
     */
    static Path publish(FileSystem fs, Path output, Path staging, long round, int keep)
            throws IOException {
        Path dir = directory(output);
        Path target = new Path(dir, name(round));
        if (fs.exists(target)) {
            // Left by an earlier attempt at this round whose latest was never written.
            fs.delete(target, true);
        }
        if (!fs.rename(staging, target)) {
            throw new IOException("cannot rename " + staging + " to " + target);
        }
        writeLatest(fs, dir, name(round));
        if (keep > 0) {
            List<String> rounds = rounds(fs, output);
            for (int i = 0; i < rounds.size() - keep; i++) {
                fs.delete(new Path(dir, rounds.get(i)), true);
            }
        }
        return target;
    }

    /** {@code latest} through a temporary file renamed over it. */
    private static void writeLatest(FileSystem fs, Path dir, String name) throws IOException {
        Path tmp = new Path(dir, "." + CheckpointDirectory.LATEST + "." + UUID.randomUUID());
        try (OutputStream out = fs.create(tmp, true)) {
            out.write((name + "\n").getBytes(StandardCharsets.UTF_8));
        }
        Path latest = new Path(dir, CheckpointDirectory.LATEST);
        if (!fs.rename(tmp, latest)) {
            // Hadoop's rename does not replace on every file system: replace in two steps.
            fs.delete(latest, false);
            if (!fs.rename(tmp, latest)) {
                throw new IOException("cannot write " + latest);
            }
        }
    }

    /** The complete checkpoints' names, oldest first. */
    static List<String> rounds(FileSystem fs, Path output) throws IOException {
        Path dir = directory(output);
        List<String> out = new ArrayList<>();
        if (!fs.exists(dir)) {
            return out;
        }
        for (FileStatus f : fs.listStatus(dir)) {
            if (f.isDirectory() && ROUND.matcher(f.getPath().getName()).matches()) {
                out.add(f.getPath().getName());
            }
        }
        out.sort(null);
        return out;
    }

    /** The newest complete checkpoint of {@code output}, or null when there is none. */
    static Path latest(FileSystem fs, Path output) throws IOException {
        Path latest = new Path(directory(output), CheckpointDirectory.LATEST);
        if (!fs.isFile(latest)) {
            return null;
        }
        return CheckpointDirectory.resolve("--output", output, fs);
    }

    /** A checkpoint's {@value #STATE_FILE}. */
    static JsonNode readState(FileSystem fs, Path checkpoint) {
        Path file = new Path(checkpoint, STATE_FILE);
        try (InputStream in = fs.open(file)) {
            JsonNode node = JSON.readTree(in);
            int version = node.path("format_version").asInt(-1);
            if (version < 1 || version > FORMAT_VERSION) {
                throw new BadInputException(
                        file
                                + ": format_version found "
                                + version
                                + ", this lmspark reads up to "
                                + FORMAT_VERSION);
            }
            return node;
        } catch (IOException e) {
            throw new BadInputException(
                    "cannot read " + file + " (" + e.getMessage() + "); the checkpoint is damaged",
                    e);
        }
    }

    /** Writes {@code state} as {@value #STATE_FILE} into {@code dir}. */
    static void writeState(FileSystem fs, Path dir, ObjectNode state) throws IOException {
        try (OutputStream out = fs.create(new Path(dir, STATE_FILE), true)) {
            out.write((JSON.writeValueAsString(state) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * {@code verify --checkpoint}: every file recorded in the checkpoint's {@value #STATE_FILE}
     * compared with what is on disk (size, SHA-256); the problems found, empty when all is well.
     */
    public static List<String> verify(FileSystem fs, Path checkpoint) {
        Map<String, FileHash> files = TrainerState.files(readState(fs, checkpoint));
        List<String> problems = new ArrayList<>();
        if (files.isEmpty()) {
            problems.add(STATE_FILE + " records no files");
        }
        for (Map.Entry<String, FileHash> e : files.entrySet()) {
            Path file = new Path(checkpoint, e.getKey());
            try {
                if (!fs.isFile(file)) {
                    problems.add(e.getKey() + ": missing");
                    continue;
                }
                long bytes = fs.getFileStatus(file).getLen();
                long expected = e.getValue().bytes();
                if (bytes != expected) {
                    problems.add(
                            e.getKey()
                                    + ": "
                                    + bytes
                                    + " bytes, "
                                    + STATE_FILE
                                    + " says "
                                    + expected);
                    continue;
                }
                MessageDigest d = sha256();
                try (InputStream in = fs.open(file)) {
                    byte[] buffer = new byte[1 << 16];
                    for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                        d.update(buffer, 0, n);
                    }
                }
                String sha = HexFormat.of().formatHex(d.digest());
                if (!sha.equals(e.getValue().sha256())) {
                    problems.add(
                            e.getKey()
                                    + ": SHA-256 "
                                    + sha
                                    + " does not match the recorded "
                                    + e.getValue().sha256()
                                    + " (the file changed or is corrupt)");
                }
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot read " + file, ex);
            }
        }
        return problems;
    }
}
