package dev.lmspark.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.Devices;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Hugging Face's sharded layout: weights past the limit are split at tensor boundaries in name
 * order into {@code model-0000i-of-0000N.safetensors} with {@code model.safetensors.index.json};
 * below it one file, byte-equal to {@link SafeTensors#write}'s; either reads back bit for bit, and
 * an index that does not match its files is refused. (The limit is 2 GiB in use; 100 bytes here.)
 */
class ShardedSafeTensorsTest {
    static final Map<String, String> META = Map.of("format", "pt");

    @Test
    void pastTheLimitTheWeightsAreShardedInNameOrderAndReadBackBitForBit() throws IOException {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("c.weight", m.arange(12f).reshape(3, 4)); // 48 bytes
            tensors.put("a.weight", m.arange(10f)); // 40
            tensors.put("b.bias", m.arange(5f)); // 20
            tensors.put("d.weight", m.arange(16f).reshape(4, 4)); // 64
            Map<String, byte[]> files = new TreeMap<>();
            List<String> written =
                    ShardedSafeTensors.write(
                            "model", entries(tensors), META, true, memory(files), 100);
            assertEquals(
                    List.of(
                            "model-00001-of-00003.safetensors",
                            "model-00002-of-00003.safetensors",
                            "model-00003-of-00003.safetensors",
                            "model.safetensors.index.json"),
                    written);
            JsonNode index =
                    new ObjectMapper()
                            .readTree(
                                    new String(
                                            files.get("model.safetensors.index.json"),
                                            StandardCharsets.UTF_8));
            assertEquals(172, index.path("metadata").path("total_size").asLong());
            // a (40) + b (20) fit in 100; c (48) starts the second; d (64) the third.
            assertEquals(
                    "model-00001-of-00003.safetensors",
                    index.path("weight_map").path("b.bias").asText());
            assertEquals(
                    "model-00002-of-00003.safetensors",
                    index.path("weight_map").path("c.weight").asText());
            assertEquals(
                    "model-00003-of-00003.safetensors",
                    index.path("weight_map").path("d.weight").asText());
            ShardedSafeTensors.Contents back =
                    ShardedSafeTensors.read(InputFolder.of(files), "model", m);
            assertEquals(
                    new java.util.TreeSet<>(tensors.keySet()),
                    new java.util.TreeSet<>(back.tensors().keySet()));
            for (var e : tensors.entrySet()) {
                assertArrayEquals(
                        e.getValue().toFloatArray(), back.tensors().get(e.getKey()).toFloatArray());
                assertEquals(e.getValue().getShape(), back.tensors().get(e.getKey()).getShape());
            }
            assertEquals("pt", back.metadata().get("format"));

            // Below the limit: one file, the bytes SafeTensors writes.
            Map<String, byte[]> single = new TreeMap<>();
            ShardedSafeTensors.write("model", entries(tensors), META, true, memory(single), 1000);
            ByteArrayOutputStream direct = new ByteArrayOutputStream();
            SafeTensors.writeWithChecksum(tensors, META, direct);
            assertEquals(List.of("model.safetensors"), new ArrayList<>(single.keySet()));
            assertArrayEquals(direct.toByteArray(), single.get("model.safetensors"));

            // An index whose file does not hold what it maps to it is refused.
            Map<String, byte[]> lying = new TreeMap<>(files);
            lying.put(
                    "model-00002-of-00003.safetensors",
                    files.get("model-00003-of-00003.safetensors"));
            IOException e =
                    assertThrows(
                            IOException.class,
                            () -> ShardedSafeTensors.read(InputFolder.of(lying), "model", m));
            assertTrue(e.getMessage().contains("does not hold the tensors"), e.getMessage());
            Map<String, byte[]> outside = new TreeMap<>(files);
            outside.put(
                    "model.safetensors.index.json",
                    "{\"weight_map\":{\"a.weight\":\"../x.safetensors\"}}"
                            .getBytes(StandardCharsets.UTF_8));
            e =
                    assertThrows(
                            IOException.class,
                            () -> ShardedSafeTensors.read(InputFolder.of(outside), "model", m));
            assertTrue(e.getMessage().contains("outside the folder"), e.getMessage());
        }
    }

    private static List<SafeTensors.Entry> entries(Map<String, NDArray> tensors) {
        List<SafeTensors.Entry> out = new ArrayList<>();
        tensors.forEach((n, a) -> out.add(SafeTensors.Entry.of(n, a)));
        return out;
    }

    private static OutputFolder memory(Map<String, byte[]> files) {
        return name ->
                new ByteArrayOutputStream() {
                    @Override
                    public void close() throws IOException {
                        super.close();
                        files.put(name, toByteArray());
                    }
                };
    }
}
