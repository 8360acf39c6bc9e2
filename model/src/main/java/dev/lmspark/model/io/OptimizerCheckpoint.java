package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.model.optim.AdamW;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/**
 * An optimizer's state as one safetensors file (the {@code optimizer.safetensors} and {@code
 * workers/worker-NNNNN.safetensors} of a checkpoint): the state tensors by name, as the optimizer's
 * {@code stateDict()} gives them, and in the metadata {@code format_version} {@value
 * #FORMAT_VERSION}, the optimizer's kind (e.g. {@code adamw}) and the data's SHA-256. Writing then
 * reading gives the same bits.
 */
public final class OptimizerCheckpoint {
    /** The version this lmspark writes, and the newest it reads. */
    public static final int FORMAT_VERSION = 1;

    /** The kind recorded for {@link AdamW}. */
    public static final String ADAMW = "adamw";

    private OptimizerCheckpoint() {}

    /** Writes an {@link AdamW}'s state. */
    public static void write(AdamW optimizer, OutputStream out) throws IOException {
        write(ADAMW, optimizer.stateDict(), out);
    }

    /**
     * Restores an {@link AdamW}'s state from {@code in} (read through a sub-manager of {@code
     * manager}, which is closed once the optimizer holds its copies).
     */
    public static void read(InputStream in, AdamW optimizer, NDManager manager) throws IOException {
        try (NDManager scratch = manager.newSubManager()) {
            optimizer.loadStateDict(read(ADAMW, in, scratch));
        }
    }

    /** Writes any optimizer's {@code state} under the kind {@code optimizer}. */
    public static void write(String optimizer, Map<String, NDArray> state, OutputStream out)
            throws IOException {
        SafeTensors.writeWithChecksum(
                state,
                Map.of("format_version", String.valueOf(FORMAT_VERSION), "optimizer", optimizer),
                out);
    }

    /**
     * Writes an optimizer's state streamed a chunk at a time: the bytes {@link #write(String, Map,
     * OutputStream)} gives for the same values.
     */
    public static void write(String optimizer, List<SafeTensors.Entry> state, OutputStream out)
            throws IOException {
        SafeTensors.write(
                state,
                Map.of("format_version", String.valueOf(FORMAT_VERSION), "optimizer", optimizer),
                true,
                out);
    }

    /**
     * The state tensors of an optimizer of kind {@code optimizer}, created on {@code manager}.
     *
     * @throws IOException when the file is malformed, truncated or corrupt, of an unknown format
     *     version, or holds another optimizer's state
     */
    public static Map<String, NDArray> read(String optimizer, InputStream in, NDManager manager)
            throws IOException {
        SafeTensors.Contents contents = SafeTensors.readContents(in, manager);
        FormatVersion.check(
                "optimizer state", contents.metadata().get("format_version"), FORMAT_VERSION);
        String kind = contents.metadata().get("optimizer");
        if (!optimizer.equals(kind)) {
            throw new IOException(
                    "optimizer state of kind " + kind + " cannot be loaded into " + optimizer);
        }
        return contents.tensors();
    }
}
