package dev.lmspark.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.task.BertForPretraining;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SafeTensorsTest {

    @Test
    void aModelRoundTripsBitForBitAndWritesTheSameBytesTwice() throws Exception {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            var model =
                    BertForPretraining.initialize(
                            ModelConfig.preset("bert-tiny").withVocabSize(300), m, 5);
            Map<String, NDArray> params = model.parameters();
            ByteArrayOutputStream first = new ByteArrayOutputStream();
            SafeTensors.write(params, Map.of("format", "pt"), first);
            ByteArrayOutputStream second = new ByteArrayOutputStream();
            SafeTensors.write(params, Map.of("format", "pt"), second);
            assertArrayEquals(first.toByteArray(), second.toByteArray());

            byte[] bytes = first.toByteArray();
            long headerLength =
                    ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            assertTrue(
                    header.contains("\"embeddings.word\":{\"dtype\":\"F32\",\"shape\":[300,128]"),
                    header);
            assertEquals(0, headerLength % 8);

            Map<String, NDArray> back = SafeTensors.read(new ByteArrayInputStream(bytes), m);
            assertEquals(
                    params.keySet(),
                    new java.util.TreeSet<>(back.keySet()).descendingSet().descendingSet());
            for (var e : params.entrySet()) {
                NDArray b = back.get(e.getKey());
                assertEquals(e.getValue().getShape(), b.getShape(), e.getKey());
                assertArrayEquals(e.getValue().toByteArray(), b.toByteArray(), e.getKey());
            }
        }
    }

    /** A safetensors file written byte by byte: entries of (name, dtype, shape, offsets, data). */
    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length);
        b.order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).put(data);
        return b.array();
    }

    private static byte[] shorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    @Test
    void halfPrecisionEntriesAreWidenedExactlyToFloat32() throws Exception {
        // float16: 1, -2.5, 65504 (max), 2^-14 (min normal), 2^-24 (min subnormal), 3·2^-24,
        // +inf, -0. bfloat16: 1, -2.5, 2^127·(2−2^-7) (max), 2^-133 (a subnormal), -inf.
        byte[] half = shorts(0x3c00, 0xc100, 0x7bff, 0x0400, 0x0001, 0x0003, 0x7c00, 0x8000);
        byte[] brain = shorts(0x3f80, 0xc020, 0x7f7f, 0x0001, 0xff80);
        byte[] data = new byte[half.length + brain.length];
        System.arraycopy(half, 0, data, 0, half.length);
        System.arraycopy(brain, 0, data, half.length, brain.length);
        String header =
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[16,26]}}";
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            SafeTensors.Contents c =
                    SafeTensors.readContents(new ByteArrayInputStream(file(header, data)), m);
            assertEquals(Map.of("h", DataType.FLOAT16, "b", DataType.BFLOAT16), c.widened());
            NDArray h = c.tensors().get("h");
            assertEquals(DataType.FLOAT32, h.getDataType());
            assertEquals(new Shape(2, 4), h.getShape());
            assertArrayEquals(
                    new float[] {
                        1f,
                        -2.5f,
                        65504f,
                        (float) Math.pow(2, -14),
                        (float) Math.pow(2, -24),
                        3 * (float) Math.pow(2, -24),
                        Float.POSITIVE_INFINITY,
                        -0f
                    },
                    h.toFloatArray());
            assertEquals(
                    Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(h.toFloatArray()[7]));
            assertArrayEquals(
                    new float[] {
                        1f,
                        -2.5f,
                        3.3895314e38f,
                        Float.intBitsToFloat(0x00010000),
                        Float.NEGATIVE_INFINITY
                    },
                    c.tensors().get("b").toFloatArray());
        }
        // Every binary16 value, against the engine's own conversion.
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            int[] all = new int[1 << 16];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            byte[] bytes = shorts(all);
            ByteBuffer buffer =
                    ByteBuffer.allocateDirect(bytes.length).order(ByteOrder.nativeOrder());
            buffer.put(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)).rewind();
            float[] engine =
                    m.create(buffer, new Shape(all.length), DataType.FLOAT16)
                            .toType(DataType.FLOAT32, false)
                            .toFloatArray();
            float[] ours = SafeTensors.widen(bytes, DataType.FLOAT16);
            for (int i = 0; i < all.length; i++) {
                boolean nan = Float.isNaN(engine[i]) && Float.isNaN(ours[i]);
                assertTrue(
                        nan
                                || Float.floatToRawIntBits(engine[i])
                                        == Float.floatToRawIntBits(ours[i]),
                        "0x" + Integer.toHexString(i) + ": " + engine[i] + " vs " + ours[i]);
            }
        }
    }

    @Test
    void aZeroSizeEntryMayShareItsOffsetWithTheNext() throws Exception {
        // As the reference writer lays them out: "a" is empty and starts where "b" does.
        String header =
                "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
        ByteBuffer data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1.5f).putFloat(-2f);
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Map<String, NDArray> t =
                    SafeTensors.read(new ByteArrayInputStream(file(header, data.array())), m);
            assertEquals(new Shape(0), t.get("a").getShape());
            assertArrayEquals(new float[] {1.5f, -2f}, t.get("b").toFloatArray());
        }
    }

    @Test
    void tamperedFilesAreRefusedWithOneLine() throws Exception {
        String entry = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%d,%d]}";
        Map<String, byte[]> bad = new java.util.LinkedHashMap<>();
        bad.put(
                "overlap",
                file(
                        "{\"a\":"
                                + String.format(entry, 0, 8)
                                + ",\"b\":"
                                + String.format(entry, 0, 8)
                                + "}",
                        new byte[16]));
        bad.put(
                "overlaps the entry before",
                file(
                        "{\"a\":"
                                + String.format(entry, 0, 8)
                                + ",\"b\":"
                                + String.format(entry, 4, 12)
                                + "}",
                        new byte[16]));
        bad.put("a gap", file("{\"a\":" + String.format(entry, 8, 16) + "}", new byte[16]));
        bad.put("truncated", file("{\"a\":" + String.format(entry, 0, 8) + "}", new byte[5]));
        byte[] huge = file("{}", new byte[0]);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        bad.put("header length 1099511627776 is outside", huge);
        bad.put(
                "has shape",
                file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                + "\"data_offsets\":[0,8]}}",
                        new byte[8]));
        bad.put(
                "needs 16",
                file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}",
                        new byte[8]));
        bad.put(
                "dtype 'pickle'",
                file(
                        "{\"a\":{\"dtype\":\"pickle\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                        new byte[8]));
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            for (var e : bad.entrySet()) {
                java.io.IOException x =
                        org.junit.jupiter.api.Assertions.assertThrows(
                                java.io.IOException.class,
                                () -> SafeTensors.read(new ByteArrayInputStream(e.getValue()), m),
                                e.getKey());
                assertTrue(x.getMessage().contains(e.getKey()), e.getKey() + ": " + x.getMessage());
                assertTrue(!x.getMessage().contains("\n"), x.getMessage());
            }
        }
    }
}
