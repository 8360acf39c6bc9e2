package dev.lmspark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Host memory of CPU arrays seen in place: PyTorch's CPU tensors are contiguous host buffers, and
 * DJL hands out a direct {@link ByteBuffer} over one ({@code toByteBuffer(true)}), so a round can
 * overwrite its replica's parameters, read them back and copy its optimizer state without
 * allocating and first-touching fresh native buffers every round (what made the per-round setup of
 * a 60 MB model cost a second). Arrays on a GPU have no host view: callers fall back to copies.
 */
final class HostViews {
    private HostViews() {}

    /** Whether {@code a}'s memory can be viewed in place: a CPU array. */
    static boolean viewable(NDArray a) {
        return Device.cpu().equals(a.getDevice());
    }

    /**
     * {@code a}'s bytes in place (native order), valid while {@code a} is open: writes change
     * {@code a}.
     */
    static ByteBuffer bytes(NDArray a) {
        if (!viewable(a)) {
            throw new IllegalArgumentException(
                    "an array on " + a.getDevice() + " has no host view");
        }
        return a.toByteBuffer(true);
    }

    /** A float32 CPU array's values in place, valid while {@code a} is open. */
    static FloatBuffer floats(NDArray a) {
        if (a.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("not float32: " + a.getDataType());
        }
        return bytes(a).asFloatBuffer();
    }

    /**
     * Copies {@code from} into {@code to} (same type and size): in place for CPU arrays, else
     * through a host buffer.
     */
    static void copy(NDArray from, NDArray to) {
        if (from.getDataType() != to.getDataType() || from.size() != to.size()) {
            throw new IllegalArgumentException(
                    "cannot copy "
                            + from.getDataType()
                            + from.getShape()
                            + " into "
                            + to.getDataType()
                            + to.getShape());
        }
        if (viewable(from) && viewable(to)) {
            bytes(to).put(bytes(from));
        } else {
            to.set(from.toByteBuffer());
        }
    }
}
