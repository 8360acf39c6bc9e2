package dev.lmspark.spark;

import ai.djl.ndarray.NDManager;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reading an lmspark model checkpoint ({@code docs/checkpoint-format.md}) for the commands that use
 * one — {@code export}, {@code generate}, {@code evaluate}: its config alone (to check flags before
 * any weight is read) or the whole model. A checkpoint that cannot be read is the user's input:
 * {@link BadInputException} with the file named.
 */
public final class CheckpointFiles {
    private CheckpointFiles() {}

    /** The model config of {@code checkpoint} ({@code config.json}), without reading weights. */
    public static ModelConfig config(InputFolder checkpoint) {
        try (InputStream s = checkpoint.open(ModelCheckpoint.CONFIG_FILE)) {
            return ModelCheckpoint.parseConfig(
                    new String(s.readAllBytes(), StandardCharsets.UTF_8),
                    checkpoint.describe() + "/" + ModelCheckpoint.CONFIG_FILE);
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    /** The model of {@code checkpoint}, its arrays on {@code manager}. */
    public static ModelWeights weights(InputFolder checkpoint, NDManager manager) {
        try {
            return ModelCheckpoint.read(checkpoint, manager);
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }
}
