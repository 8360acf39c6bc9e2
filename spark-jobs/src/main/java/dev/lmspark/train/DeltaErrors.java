package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.model.io.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * A worker's error feedback of compressed updates as a checkpoint file ({@code
 * workers/worker-NNNNN.delta-error.safetensors}): one float32 tensor per parameter, by the
 * parameter's name and shape, so it does not depend on the combine's shard count.
 */
final class DeltaErrors {
    private static final Map<String, String> METADATA =
            Map.of("format_version", "1", "content", "delta_error");

    private DeltaErrors() {}

    /** Writes {@code error} (the flat vector of {@code layout}). */
    static void write(float[] error, ShardLayout layout, OutputStream out) throws IOException {
        List<SafeTensors.Entry> entries =
                layout.entries(
                        (tensor, o) -> {
                            ByteBuffer b =
                                    ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                            int from = (int) layout.offset(tensor);
                            int to = (int) layout.offset(tensor + 1);
                            for (int at = from; at < to; ) {
                                int n = Math.min(to - at, b.capacity() / 4);
                                b.clear();
                                b.asFloatBuffer().put(error, at, n);
                                o.write(b.array(), 0, 4 * n);
                                at += n;
                            }
                        });
        SafeTensors.write(entries, METADATA, true, out);
    }

    /** Reads a file {@link #write} wrote into {@code error}. */
    static void read(InputStream in, ShardLayout layout, float[] error, NDManager manager)
            throws IOException {
        try (NDManager scratch = manager.newSubManager()) {
            Map<String, NDArray> tensors = SafeTensors.read(in, scratch);
            for (int i = 0; i < layout.tensors(); i++) {
                NDArray a = tensors.get(layout.name(i));
                if (a == null || a.size() != layout.offset(i + 1) - layout.offset(i)) {
                    throw new IOException(
                            "the delta-error file has no " + layout.name(i) + " of its shape");
                }
                float[] v = a.toFloatArray();
                System.arraycopy(v, 0, error, (int) layout.offset(i), v.length);
            }
        }
    }
}
