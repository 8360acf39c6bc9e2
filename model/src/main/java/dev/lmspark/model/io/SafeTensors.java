package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (what Hugging Face writes as {@code model.safetensors}): an 8-byte
 * little-endian header length, a JSON header mapping each name to its dtype, shape and byte range,
 * then the raw little-endian data. Tensors are written in name order, so the same tensors always
 * give the same bytes, and read back bit for bit. Supported dtypes: F32, F64, F16, BF16, I64, I32,
 * I8, U8, BOOL.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /** Writes {@code tensors} (and optional string {@code metadata}) to {@code out}. */
    public static void write(
            Map<String, NDArray> tensors, Map<String, String> metadata, OutputStream out)
            throws IOException {
        TreeMap<String, NDArray> sorted = new TreeMap<>(tensors);
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        Map<String, byte[]> data = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : sorted.entrySet()) {
            NDArray a = e.getValue();
            ByteBuffer buffer = a.toByteBuffer();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.order(ByteOrder.LITTLE_ENDIAN).get(bytes);
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", code(a.getDataType()));
            var shape = entry.putArray("shape");
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes.length);
            offset += bytes.length;
            data.put(e.getKey(), bytes);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = new byte[padded];
        java.util.Arrays.fill(head, (byte) ' ');
        System.arraycopy(json, 0, head, 0, json.length);
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(head);
        for (byte[] bytes : data.values()) {
            out.write(bytes);
        }
    }

    /** The tensors of {@code in}, created on {@code manager}, in file order. */
    public static Map<String, NDArray> read(InputStream in, NDManager manager) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] lengthBytes = new byte[8];
        data.readFully(lengthBytes);
        long length = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (length <= 0 || length > 100_000_000) {
            throw new IOException("not a safetensors file: header length " + length);
        }
        byte[] head = new byte[(int) length];
        data.readFully(head);
        JsonNode header = JSON.readTree(new String(head, StandardCharsets.UTF_8).strip());
        TreeMap<Long, Map.Entry<String, JsonNode>> byOffset = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__")) {
                byOffset.put(e.getValue().path("data_offsets").get(0).asLong(), e);
            }
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        long position = 0;
        for (Map.Entry<String, JsonNode> e : byOffset.values()) {
            JsonNode spec = e.getValue();
            long begin = spec.path("data_offsets").get(0).asLong();
            long end = spec.path("data_offsets").get(1).asLong();
            if (begin != position) {
                throw new IOException(
                        "safetensors entry "
                                + e.getKey()
                                + " starts at "
                                + begin
                                + ", expected "
                                + position);
            }
            byte[] bytes = new byte[(int) (end - begin)];
            data.readFully(bytes);
            position = end;
            long[] shape = new long[spec.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = spec.path("shape").get(i).asLong();
            }
            ByteBuffer buffer =
                    ByteBuffer.allocateDirect(bytes.length).order(ByteOrder.nativeOrder());
            buffer.put(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)).rewind();
            out.put(
                    e.getKey(),
                    manager.create(buffer, new Shape(shape), type(spec.path("dtype").asText())));
        }
        return out;
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

    private static DataType type(String code) {
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
            default -> throw new IllegalArgumentException("unsupported safetensors dtype " + code);
        };
    }
}
