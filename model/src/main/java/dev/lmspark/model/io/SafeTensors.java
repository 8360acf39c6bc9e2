package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (what Hugging Face writes as {@code model.safetensors}): an 8-byte
 * little-endian header length, a JSON header mapping each name to its dtype, shape and byte range
 * (and an optional {@code __metadata__} map of strings), padded with spaces to a multiple of 8,
 * then the raw little-endian data. Tensors are written in name order, so the same tensors always
 * give the same bytes — the bytes the reference {@code safetensors} library writes — and read back
 * bit for bit. Supported dtypes: F32, F64, F16, BF16, I64, I32, I8, U8, BOOL; F16 and BF16 entries
 * are read as F32 (widened exactly, in Java, never by the engine).
 *
 * <p>Files are untrusted input: reading executes nothing (the header is JSON) and refuses, with one
 * line, a header length outside 1..100 MB, a truncated file, entries that overlap or leave gaps,
 * shapes that do not match their byte ranges, and entries over 2 GiB.
 *
 * <p>{@link #writeWithChecksum} also records the SHA-256 of the data section in the metadata
 * ({@value #DATA_SHA256}); reading such a file verifies it, so a flipped byte is an error rather
 * than a silently different weight. Every malformed or truncated input fails with a one-line {@link
 * IOException} saying what was wrong.
 */
public final class SafeTensors {
    /** Metadata key of the data section's SHA-256 (lowercase hex). */
    public static final String DATA_SHA256 = "data_sha256";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100_000_000;
    private static final long MAX_ENTRY = Integer.MAX_VALUE - 8;

    private SafeTensors() {}

    /** What a file holds: its string metadata (empty when none) and its tensors in file order. */
    /**
     * @param widened the half-precision entries (F16, BF16) read as float32, with their file dtype
     */
    public record Contents(
            Map<String, String> metadata,
            Map<String, NDArray> tensors,
            Map<String, DataType> widened) {}

    /** Writes {@code tensors} (and optional string {@code metadata}) to {@code out}. */
    public static void write(
            Map<String, NDArray> tensors, Map<String, String> metadata, OutputStream out)
            throws IOException {
        write(tensors, metadata, false, out);
    }

    /** As {@link #write}, recording the data section's SHA-256 under {@value #DATA_SHA256}. */
    public static void writeWithChecksum(
            Map<String, NDArray> tensors, Map<String, String> metadata, OutputStream out)
            throws IOException {
        write(tensors, metadata, true, out);
    }

    private static void write(
            Map<String, NDArray> tensors,
            Map<String, String> metadata,
            boolean checksum,
            OutputStream out)
            throws IOException {
        List<Entry> entries = new ArrayList<>();
        tensors.forEach((name, array) -> entries.add(Entry.of(name, array)));
        write(entries, metadata, checksum, out);
    }

    /**
     * One tensor of a file that {@link #write(List, Map, boolean, OutputStream)} streams: its name,
     * dtype and shape, and a way to write its raw little-endian data (as often as asked: once to
     * hash it, once to write it), so that no more than a chunk of it need be in memory at once.
     */
    public interface Entry {
        String name();

        DataType dataType();

        long[] shape();

        /** Writes exactly {@code elements × bytes per element} bytes of data to {@code out}. */
        void writeData(OutputStream out) throws IOException;

        /** An entry over an array's data (copied out a chunk at a time). */
        static Entry of(String name, NDArray array) {
            return new Entry() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public DataType dataType() {
                    return array.getDataType();
                }

                @Override
                public long[] shape() {
                    return array.getShape().getShape();
                }

                @Override
                public void writeData(OutputStream out) throws IOException {
                    ByteBuffer buffer = array.toByteBuffer();
                    byte[] chunk = new byte[(int) Math.min(buffer.remaining(), 1 << 20)];
                    while (buffer.hasRemaining()) {
                        int n = Math.min(chunk.length, buffer.remaining());
                        buffer.get(chunk, 0, n);
                        out.write(chunk, 0, n);
                    }
                }
            };
        }
    }

    /**
     * Writes {@code entries} (in name order, whatever order they come in) and optional string
     * {@code metadata}, with {@value #DATA_SHA256} when {@code checksum}, streaming each entry's
     * data (twice with a checksum: the header that records it comes first). The bytes are those
     * {@link #write(Map, Map, OutputStream)} gives for the same tensors, whatever their size: a
     * file may exceed 2 GiB, one entry may not.
     */
    public static void write(
            List<Entry> entries, Map<String, String> metadata, boolean checksum, OutputStream out)
            throws IOException {
        TreeMap<String, Entry> sorted = new TreeMap<>();
        entries.forEach(e -> sorted.put(e.name(), e));
        ObjectNode header = JSON.createObjectNode();
        ObjectNode table = JSON.createObjectNode();
        long offset = 0;
        for (Entry e : sorted.values()) {
            long bytes = e.dataType().getNumOfBytes();
            for (long d : e.shape()) {
                bytes = Math.multiplyExact(bytes, d);
            }
            if (bytes > MAX_ENTRY) {
                throw new IOException(
                        "tensor "
                                + e.name()
                                + " has "
                                + bytes
                                + " bytes; a safetensors entry lmspark writes holds up to "
                                + MAX_ENTRY
                                + " (2 GiB): shard the tensor");
            }
            ObjectNode entry = table.putObject(e.name());
            entry.put("dtype", code(e.dataType()));
            var shape = entry.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        Map<String, String> meta = new TreeMap<>(metadata == null ? Map.of() : metadata);
        if (checksum) {
            MessageDigest digest = sha256();
            try (DigestSink hashed = new DigestSink(digest)) {
                for (Entry e : sorted.values()) {
                    e.writeData(hashed);
                }
                if (hashed.count != offset) {
                    throw new IOException(
                            "the tensors wrote "
                                    + hashed.count
                                    + " bytes of data, their shapes need "
                                    + offset);
                }
            }
            meta.put(DATA_SHA256, HexFormat.of().formatHex(digest.digest()));
        }
        if (!meta.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            meta.forEach(m::put);
        }
        header.setAll(table);
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = new byte[padded];
        Arrays.fill(head, (byte) ' ');
        System.arraycopy(json, 0, head, 0, json.length);
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(head);
        for (Entry e : sorted.values()) {
            e.writeData(out);
        }
    }

    /** The tensors of {@code in}, created on {@code manager}, in file order. */
    public static Map<String, NDArray> read(InputStream in, NDManager manager) throws IOException {
        return readContents(in, manager).tensors();
    }

    /**
     * The metadata and tensors of {@code in}, the tensors created on {@code manager}; verifies the
     * data checksum when the metadata records one.
     *
     * @throws IOException one line saying how the input is malformed, truncated or corrupt
     */
    public static Contents readContents(InputStream in, NDManager manager) throws IOException {
        byte[] lengthBytes = new byte[8];
        int got = in.readNBytes(lengthBytes, 0, 8);
        if (got < 8) {
            throw new IOException(
                    "not a safetensors file: "
                            + got
                            + " bytes, fewer than the 8 of the header length");
        }
        long length = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (length <= 0 || length > MAX_HEADER) {
            throw new IOException(
                    "not a safetensors file: header length "
                            + length
                            + " is outside 1.."
                            + MAX_HEADER);
        }
        byte[] head = in.readNBytes((int) length);
        if (head.length < length) {
            throw new IOException(
                    "truncated safetensors file: the header needs "
                            + length
                            + " bytes, the input ended after "
                            + head.length);
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(head, StandardCharsets.UTF_8).strip());
        } catch (JsonProcessingException e) {
            throw new IOException(
                    "not a safetensors file: the header is not JSON ("
                            + e.getOriginalMessage().lines().findFirst().orElse("")
                            + ")");
        }
        if (header == null || !header.isObject()) {
            throw new IOException("not a safetensors file: the header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        // In data order; a zero-size entry may share its offset with the next one (the reference
        // writer does that), so the order is by (begin, end).
        List<Map.Entry<String, JsonNode>> byOffset = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue()
                        .fields()
                        .forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
            } else {
                begin(e.getKey(), e.getValue());
                byOffset.add(e);
            }
        }
        byOffset.sort(
                Comparator.comparingLong(
                                (Map.Entry<String, JsonNode> e) ->
                                        e.getValue().path("data_offsets").get(0).asLong())
                        .thenComparingLong(e -> e.getValue().path("data_offsets").get(1).asLong()));
        Map<String, NDArray> out = new LinkedHashMap<>();
        Map<String, DataType> widened = new LinkedHashMap<>();
        MessageDigest digest = sha256();
        long position = 0;
        for (Map.Entry<String, JsonNode> e : byOffset) {
            String name = e.getKey();
            JsonNode spec = e.getValue();
            long begin = spec.path("data_offsets").get(0).asLong();
            long end = spec.path("data_offsets").get(1).asLong();
            if (begin != position) {
                throw new IOException(
                        "corrupt safetensors file: entry "
                                + name
                                + " starts at byte "
                                + begin
                                + " of the data, expected "
                                + position
                                + (begin < position
                                        ? " (it overlaps the entry before)"
                                        : " (a gap)"));
            }
            DataType type = type(name, spec.path("dtype").asText());
            JsonNode shapeNode = spec.path("shape");
            if (!shapeNode.isArray()) {
                throw new IOException("corrupt safetensors file: entry " + name + " has no shape");
            }
            long[] shape = new long[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) {
                    throw new IOException(
                            "corrupt safetensors file: entry " + name + " has shape " + shapeNode);
                }
                try {
                    elements = Math.multiplyExact(elements, shape[i]);
                } catch (ArithmeticException overflow) {
                    throw new IOException(
                            "corrupt safetensors file: entry " + name + " has shape " + shapeNode);
                }
            }
            if (end - begin > MAX_ENTRY) {
                throw new IOException(
                        "safetensors entry "
                                + name
                                + " spans "
                                + (end - begin)
                                + " bytes; lmspark reads entries of up to "
                                + MAX_ENTRY
                                + " (2 GiB)");
            }
            boolean half = type == DataType.FLOAT16 || type == DataType.BFLOAT16;
            if (half && elements * 4 > MAX_ENTRY) {
                throw new IOException(
                        "safetensors entry "
                                + name
                                + " has "
                                + elements
                                + " half-precision values; as float32 they exceed the 2 GiB"
                                + " lmspark reads per entry");
            }
            if (elements > MAX_ENTRY || end - begin != elements * type.getNumOfBytes()) {
                throw new IOException(
                        "corrupt safetensors file: entry "
                                + name
                                + " spans "
                                + (end - begin)
                                + " bytes, but "
                                + spec.path("dtype").asText()
                                + " "
                                + shapeNode
                                + " needs "
                                + elements * type.getNumOfBytes());
            }
            byte[] bytes = in.readNBytes((int) (end - begin));
            if (bytes.length < end - begin) {
                throw new IOException(
                        "truncated safetensors file: entry "
                                + name
                                + " needs data bytes "
                                + begin
                                + ".."
                                + end
                                + ", the input ended at "
                                + (begin + bytes.length));
            }
            digest.update(bytes);
            position = end;
            if (half) {
                // Widened here, in Java: half-precision buffers reach native paths of the engine
                // that not every build supports (bf16 on CPU can abort the JVM).
                out.put(name, manager.create(widen(bytes, type), new Shape(shape)));
                widened.put(name, type);
                continue;
            }
            ByteBuffer buffer =
                    ByteBuffer.allocateDirect(bytes.length).order(ByteOrder.nativeOrder());
            buffer.put(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)).rewind();
            out.put(name, manager.create(buffer, new Shape(shape), type));
        }
        String recorded = metadata.get(DATA_SHA256);
        if (recorded != null) {
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(recorded)) {
                out.values().forEach(NDArray::close);
                throw new IOException(
                        "corrupt safetensors file: the data's SHA-256 is "
                                + actual
                                + ", the header records "
                                + recorded);
            }
        }
        return new Contents(metadata, out, widened);
    }

    /** Little-endian F16 or BF16 values as floats: exact, since float32 holds every one of them. */
    static float[] widen(byte[] bytes, DataType type) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.length / 2];
        for (int i = 0; i < out.length; i++) {
            int h = b.getShort() & 0xffff;
            out[i] = type == DataType.BFLOAT16 ? Float.intBitsToFloat(h << 16) : halfToFloat(h);
        }
        return out;
    }

    /** IEEE 754 binary16 to binary32 (what {@code Float.float16ToFloat} does from Java 20). */
    static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) { // infinity, NaN (payload kept)
            return Float.intBitsToFloat(sign | 0x7f800000 | mantissa << 13);
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: normalise the mantissa.
            int e = 127 - 15 + 1;
            while ((mantissa & 0x400) == 0) {
                mantissa <<= 1;
                e--;
            }
            return Float.intBitsToFloat(sign | e << 23 | (mantissa & 0x3ff) << 13);
        }
        return Float.intBitsToFloat(sign | (exponent - 15 + 127) << 23 | mantissa << 13);
    }

    private static long begin(String name, JsonNode spec) throws IOException {
        JsonNode offsets = spec.path("data_offsets");
        if (!offsets.isArray()
                || offsets.size() != 2
                || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()
                || offsets.get(1).asLong() < offsets.get(0).asLong()
                || offsets.get(0).asLong() < 0) {
            throw new IOException(
                    "corrupt safetensors file: entry " + name + " has data_offsets " + offsets);
        }
        return offsets.get(0).asLong();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String code(DataType t) {
        return switch (t) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case FLOAT16 -> "F16";
            case BFLOAT16 -> "BF16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> throw new IllegalArgumentException("safetensors cannot hold " + t);
        };
    }

    private static DataType type(String name, String code) throws IOException {
        return switch (code) {
            case "F32" -> DataType.FLOAT32;
            case "F64" -> DataType.FLOAT64;
            case "F16" -> DataType.FLOAT16;
            case "BF16" -> DataType.BFLOAT16;
            case "I64" -> DataType.INT64;
            case "I32" -> DataType.INT32;
            case "I8" -> DataType.INT8;
            case "U8" -> DataType.UINT8;
            case "BOOL" -> DataType.BOOLEAN;
            default ->
                    throw new IOException(
                            "safetensors entry "
                                    + name
                                    + " has dtype '"
                                    + code
                                    + "'; lmspark reads F32, F64, F16, BF16, I64, I32, I8, U8 and BOOL");
        };
    }
}
