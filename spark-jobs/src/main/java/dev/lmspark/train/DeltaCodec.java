package dev.lmspark.train;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * How a worker's update travels to the combine ({@code --delta-precision}): {@code fp32} as it is;
 * {@code bf16} rounded to bfloat16 (round to nearest, ties to even: 2 bytes a value); {@code int8}
 * in blocks of {@value #BLOCK} values, each block scaled by its largest magnitude / 127 and rounded
 * to a signed byte (1 byte a value plus a float32 scale per block). The compressed encodings keep
 * error feedback (as Deeplearning4j's threshold encoding keeps its residual, and DiLoCo's
 * compressed outer gradients): the worker adds what earlier rounds did not send, e, to its update
 * before encoding, and keeps v − decode(encode(v)) as the next e — so nothing is lost, only sent
 * later. e is part of the worker's state: checkpointed, replayed and rolled back with it.
 */
final class DeltaCodec {
    /** Values per int8 block (each with its own float32 scale). */
    static final int BLOCK = 256;

    /** The encodings, by their {@code --delta-precision} name. */
    enum Precision {
        FP32,
        BF16,
        INT8;

        static Precision parse(String name) {
            return valueOf(name.toUpperCase(java.util.Locale.ROOT));
        }

        /** The bytes a piece of {@code n} values takes. */
        long bytes(long n) {
            return switch (this) {
                case FP32 -> 4 * n;
                case BF16 -> 2 * n;
                case INT8 -> n + 4 * ((n + BLOCK - 1) / BLOCK);
            };
        }
    }

    private DeltaCodec() {}

    /**
     * A piece of an update as sent: exactly one of the arrays is set ({@code scales} with {@code
     * int8}).
     */
    record Encoded(float[] fp32, short[] bf16, byte[] int8, float[] scales)
            implements Serializable {
        /** The values the combine adds up. */
        float[] decode() {
            if (fp32 != null) {
                return fp32;
            }
            if (bf16 != null) {
                float[] out = new float[bf16.length];
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((bf16[i] & 0xffff) << 16);
                }
                return out;
            }
            float[] out = new float[int8.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = int8[i] * scales[i / BLOCK];
            }
            return out;
        }

        /** Serialized through {@link Wire}: the values as bulk little-endian bytes. */
        private Object writeReplace() {
            return new Wire(this);
        }

        /** The payload's bytes. */
        long bytes() {
            if (fp32 != null) {
                return 4L * fp32.length;
            }
            if (bf16 != null) {
                return 2L * bf16.length;
            }
            return int8.length + 4L * scales.length;
        }
    }

    /**
     * How an {@link Encoded} piece travels through Spark's shuffle: its arrays as bulk
     * little-endian bytes, 64 KiB at a time. Java serialization writes a {@code float[]} a value at
     * a time through a 1 KiB buffer, which made a 30 MB piece cost 4× the copy.
     */
    static final class Wire implements Externalizable {
        private static final long serialVersionUID = 1L;
        private static final int CHUNK = 1 << 16;
        private Encoded piece;

        /** For deserialization. */
        public Wire() {}

        Wire(Encoded piece) {
            this.piece = piece;
        }

        @Override
        public void writeExternal(ObjectOutput out) throws IOException {
            byte[] chunk = new byte[CHUNK];
            ByteBuffer b = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            if (piece.fp32() != null) {
                out.writeByte(0);
                writeFloats(out, piece.fp32(), chunk, b);
            } else if (piece.bf16() != null) {
                out.writeByte(1);
                short[] v = piece.bf16();
                out.writeInt(v.length);
                for (int at = 0; at < v.length; ) {
                    int n = Math.min(v.length - at, CHUNK / 2);
                    b.clear();
                    b.asShortBuffer().put(v, at, n);
                    out.write(chunk, 0, 2 * n);
                    at += n;
                }
            } else {
                out.writeByte(2);
                out.writeInt(piece.int8().length);
                out.write(piece.int8());
                writeFloats(out, piece.scales(), chunk, b);
            }
        }

        @Override
        public void readExternal(ObjectInput in) throws IOException {
            byte[] chunk = new byte[CHUNK];
            ByteBuffer b = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            int kind = in.readByte();
            if (kind == 0) {
                piece = new Encoded(readFloats(in, chunk, b), null, null, null);
            } else if (kind == 1) {
                short[] v = new short[in.readInt()];
                for (int at = 0; at < v.length; ) {
                    int n = Math.min(v.length - at, CHUNK / 2);
                    in.readFully(chunk, 0, 2 * n);
                    b.clear();
                    b.asShortBuffer().get(v, at, n);
                    at += n;
                }
                piece = new Encoded(null, v, null, null);
            } else {
                byte[] q = new byte[in.readInt()];
                in.readFully(q);
                piece = new Encoded(null, null, q, readFloats(in, chunk, b));
            }
        }

        private Object readResolve() {
            return piece;
        }

        private static void writeFloats(ObjectOutput out, float[] v, byte[] chunk, ByteBuffer b)
                throws IOException {
            out.writeInt(v.length);
            for (int at = 0; at < v.length; ) {
                int n = Math.min(v.length - at, CHUNK / 4);
                b.clear();
                b.asFloatBuffer().put(v, at, n);
                out.write(chunk, 0, 4 * n);
                at += n;
            }
        }

        private static float[] readFloats(ObjectInput in, byte[] chunk, ByteBuffer b)
                throws IOException {
            float[] v = new float[in.readInt()];
            for (int at = 0; at < v.length; ) {
                int n = Math.min(v.length - at, CHUNK / 4);
                in.readFully(chunk, 0, 4 * n);
                b.clear();
                b.asFloatBuffer().get(v, at, n);
                at += n;
            }
            return v;
        }
    }

    /**
     * Encodes {@code delta} in {@code precision}; with error feedback ({@code error} non-null: the
     * residual, whose values {@code [at, at + delta.length)} belong to this range, updated in
     * place): v = Δ + e is encoded and e ← v − decoded.
     */
    static Encoded encode(Precision precision, float[] delta, float[] error, int at) {
        if (precision == Precision.FP32) {
            return new Encoded(delta, null, null, null);
        }
        float[] v = delta;
        if (error != null) {
            v = new float[delta.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = delta[i] + error[at + i];
            }
        }
        Encoded e;
        if (precision == Precision.BF16) {
            short[] q = new short[v.length];
            for (int i = 0; i < v.length; i++) {
                q[i] = toBf16(v[i]);
            }
            e = new Encoded(null, q, null, null);
        } else {
            byte[] q = new byte[v.length];
            float[] scales = new float[(v.length + BLOCK - 1) / BLOCK];
            for (int b = 0; b < scales.length; b++) {
                int from = b * BLOCK;
                int to = Math.min(v.length, from + BLOCK);
                float max = 0;
                for (int i = from; i < to; i++) {
                    max = Math.max(max, Math.abs(v[i]));
                }
                float scale = max / 127f;
                scales[b] = scale;
                for (int i = from; i < to; i++) {
                    q[i] =
                            scale == 0
                                    ? 0
                                    : (byte)
                                            Math.max(-127, Math.min(127, Math.round(v[i] / scale)));
                }
            }
            e = new Encoded(null, null, q, scales);
        }
        if (error != null) {
            float[] sent = e.decode();
            for (int i = 0; i < v.length; i++) {
                error[at + i] = v[i] - sent[i];
            }
        }
        return e;
    }

    /** float32 → bfloat16, round to nearest even (NaN stays NaN). */
    static short toBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // a quiet NaN
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
