package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ShardedSafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where a {@code --checkpoint} flag points: one {@code checkpoints/round-NNNNNN} directory (it
 * holds {@value ModelCheckpoint#CONFIG_FILE} and {@value ModelCheckpoint#WEIGHTS_FILE}), or a
 * training output directory, whose {@value #LATEST} file names its newest complete checkpoint.
 */
public final class CheckpointDirectory {
    /** The folder of checkpoints under a training output. */
    public static final String CHECKPOINTS = "checkpoints";

    /** The file under {@value #CHECKPOINTS} naming the newest complete checkpoint. */
    public static final String LATEST = "latest";

    /**
     * The file of a checkpoint recording the trainer's state: round, global step, data cursors,
     * seeds and the full train config.
     */
    public static final String TRAINER_STATE = "trainer_state.json";

    /** The tokenizer folder a checkpoint carries. */
    public static final String TOKENIZER = "tokenizer";

    private CheckpointDirectory() {}

    /**
     * The checkpoint directory {@code path} names, qualified on {@code fs}.
     *
     * @param flag the flag that named it, for error messages
     * @throws BadInputException when the path does not exist, is neither a checkpoint nor a
     *     training output, or its {@value #LATEST} is empty or names a missing checkpoint
     */
    public static Path resolve(String flag, Path path, FileSystem fs) {
        Path dir = fs.makeQualified(path);
        try {
            if (!fs.exists(dir)) {
                throw new BadInputException(
                        flag
                                + " "
                                + path
                                + " does not exist; give a checkpoint directory"
                                + " (checkpoints/round-NNNNNN) or a train output directory");
            }
            if (isCheckpoint(fs, dir)) {
                return dir;
            }
            Path latest = new Path(new Path(dir, CHECKPOINTS), LATEST);
            if (!fs.isFile(latest)) {
                throw new BadInputException(
                        flag
                                + " "
                                + path
                                + " is not a checkpoint (no "
                                + ModelCheckpoint.CONFIG_FILE
                                + " and "
                                + ModelCheckpoint.WEIGHTS_FILE
                                + ") nor a train output with a complete checkpoint (no "
                                + CHECKPOINTS
                                + "/"
                                + LATEST
                                + "); give a checkpoint directory or a train output directory");
            }
            String name;
            try (InputStream in = fs.open(latest)) {
                name = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..")) {
                throw new BadInputException(
                        flag
                                + ": "
                                + latest
                                + " holds '"
                                + name
                                + "', not a checkpoint name such as round-000050; give one"
                                + " checkpoints/round-NNNNNN directory instead");
            }
            Path checkpoint = new Path(new Path(dir, CHECKPOINTS), name);
            if (!isCheckpoint(fs, checkpoint)) {
                throw new BadInputException(
                        flag
                                + ": "
                                + latest
                                + " names "
                                + name
                                + ", which is missing or incomplete; give one complete"
                                + " checkpoints/round-NNNNNN directory instead");
            }
            return checkpoint;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    private static boolean isCheckpoint(FileSystem fs, Path dir) throws IOException {
        return fs.isFile(new Path(dir, ModelCheckpoint.CONFIG_FILE))
                && (fs.isFile(new Path(dir, ModelCheckpoint.WEIGHTS_FILE))
                        || fs.isFile(
                                new Path(
                                        dir,
                                        ModelCheckpoint.WEIGHTS_FILE
                                                + ShardedSafeTensors.INDEX_SUFFIX)));
    }
}
