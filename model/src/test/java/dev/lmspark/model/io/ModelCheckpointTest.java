package dev.lmspark.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.CausalLm;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * lmspark checkpoints: model and optimizer state written and read back bit for bit; unknown
 * versions, truncated and corrupt files refused with one line naming the file.
 */
class ModelCheckpointTest {

    static NDManager manager() {
        return NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
    }

    /** The three model kinds, small. */
    static List<ModelWeights> models(NDManager m) {
        ModelConfig bert = ModelConfig.preset("bert-tiny").withVocabSize(300);
        ModelConfig llama = ModelConfig.preset("llama-tiny").withVocabSize(300);
        return List.of(
                ModelWeights.of(BertForPretraining.initialize(bert, m, 1)),
                ModelWeights.of(CausalLm.initialize(bert.withCausal(true), m, 2)),
                ModelWeights.of(CausalLm.initialize(llama, m, 3)));
    }

    static Map<String, byte[]> write(ModelWeights model) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        ModelCheckpoint.write(model, OutputFolder.of(files::put));
        return files;
    }

    static void assertSameBits(Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()));
        expected.forEach(
                (name, a) -> {
                    NDArray b = actual.get(name);
                    assertEquals(a.getShape(), b.getShape(), name);
                    assertEquals(a.getDataType(), b.getDataType(), name);
                    assertArrayEquals(a.toByteArray(), b.toByteArray(), name);
                });
    }

    @Test
    void everyModelKindRoundTripsBitForBit(@TempDir Path dir) throws Exception {
        try (NDManager m = manager()) {
            for (ModelWeights model : models(m)) {
                Map<String, byte[]> files = write(model);
                assertEquals(
                        List.of("config.json", "model.safetensors"), List.copyOf(files.keySet()));
                assertArrayEquals(
                        files.get("model.safetensors"), write(model).get("model.safetensors"));
                assertTrue(
                        new String(files.get("config.json"), StandardCharsets.UTF_8)
                                .contains("\"format_version\" : 1"));

                ModelWeights back = ModelCheckpoint.read(InputFolder.of(files), m);
                assertEquals(model.config(), back.config());
                assertEquals(
                        List.copyOf(model.parameters().keySet()),
                        List.copyOf(back.parameters().keySet()));
                assertSameBits(model.parameters(), back.parameters());

                Path folder = dir.resolve(model.config().architecture() + model.config().causal());
                ModelCheckpoint.write(model, OutputFolder.of(folder));
                ModelWeights fromDisk = ModelCheckpoint.read(InputFolder.of(folder), m);
                assertEquals(model.config(), fromDisk.config());
                assertSameBits(model.parameters(), fromDisk.parameters());
                assertArrayEquals(
                        files.get("model.safetensors"),
                        Files.readAllBytes(folder.resolve("model.safetensors")));
            }
            // The task follows from the config.
            List<ModelWeights> models = models(m);
            models.get(0).toBertForPretraining();
            models.get(1).toCausalLm();
            models.get(2).toCausalLm();
            assertThrows(IllegalStateException.class, () -> models.get(0).toCausalLm());
        }
    }

    @Test
    void adamWStateRoundTripsBitForBitAndTrainsOnIdentically() throws Exception {
        try (NDManager m = manager()) {
            Map<String, NDArray> weights = models(m).get(2).parameters();
            AdamW first = AdamW.withDefaults(m, 0.01f);
            for (int step = 0; step < 2; step++) {
                for (var e : weights.entrySet()) {
                    NDArray grad = m.randomNormal(e.getValue().getShape());
                    first.update(e.getKey(), e.getValue(), grad, 1e-3f);
                }
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            OptimizerCheckpoint.write(first, bytes);
            AdamW second = AdamW.withDefaults(m, 0.01f);
            OptimizerCheckpoint.read(new ByteArrayInputStream(bytes.toByteArray()), second, m);
            assertSameBits(first.stateDict(), second.stateDict());
            assertEquals(
                    2L,
                    second.stateDict().values().stream()
                            .filter(a -> a.getShape().isScalar())
                            .findFirst()
                            .orElseThrow()
                            .getLong());

            // A third step from either optimizer gives the same weights.
            Map<String, NDArray> a = new LinkedHashMap<>();
            Map<String, NDArray> b = new LinkedHashMap<>();
            weights.forEach(
                    (name, w) -> {
                        NDArray grad = m.randomNormal(w.getShape());
                        NDArray wa = w.duplicate();
                        NDArray wb = w.duplicate();
                        first.update(name, wa, grad, 1e-3f);
                        second.update(name, wb, grad, 1e-3f);
                        a.put(name, wa);
                        b.put(name, wb);
                    });
            assertSameBits(a, b);

            IOException wrongKind =
                    assertThrows(
                            IOException.class,
                            () ->
                                    OptimizerCheckpoint.read(
                                            "nesterov",
                                            new ByteArrayInputStream(bytes.toByteArray()),
                                            m));
            assertTrue(wrongKind.getMessage().contains("adamw"), wrongKind.getMessage());
            first.close();
            second.close();
        }
    }

    @Test
    void anUnknownFormatVersionIsRefused() throws Exception {
        try (NDManager m = manager()) {
            Map<String, byte[]> files = write(models(m).get(0));
            String config = new String(files.get("config.json"), StandardCharsets.UTF_8);
            files.put(
                    "config.json",
                    config.replace("\"format_version\" : 1", "\"format_version\" : 7")
                            .getBytes(StandardCharsets.UTF_8));
            IOException e =
                    assertThrows(
                            IOException.class,
                            () -> ModelCheckpoint.read(InputFolder.of(files), m));
            assertTrue(
                    e.getMessage().contains("found 7, this lmspark reads up to 1"), e.getMessage());
            assertTrue(e.getMessage().contains("config.json"), e.getMessage());

            files.put(
                    "config.json",
                    config.replace("\"format_version\" : 1,", "").getBytes(StandardCharsets.UTF_8));
            e =
                    assertThrows(
                            IOException.class,
                            () -> ModelCheckpoint.read(InputFolder.of(files), m));
            assertTrue(e.getMessage().contains("no format_version"), e.getMessage());
        }
    }

    static String failure(Map<String, byte[]> files, NDManager m) {
        IOException e =
                assertThrows(
                        IOException.class, () -> ModelCheckpoint.read(InputFolder.of(files), m));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void truncatedCorruptAndMissingFilesFailWithOneLine() throws Exception {
        try (NDManager m = manager()) {
            Map<String, byte[]> files = write(models(m).get(2));
            byte[] weights = files.get("model.safetensors");
            long headerLength =
                    java.nio.ByteBuffer.wrap(weights, 0, 8)
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                            .getLong();
            for (int cut : new int[] {0, 5, 8, 8 + (int) headerLength / 2, weights.length - 3}) {
                Map<String, byte[]> broken = new TreeMap<>(files);
                broken.put("model.safetensors", Arrays.copyOf(weights, cut));
                String message = failure(broken, m);
                assertTrue(message.startsWith("an in-memory folder/model.safetensors: "), message);
                assertTrue(
                        message.contains("truncated") || message.contains("not a safetensors"),
                        message);
            }

            Map<String, byte[]> flipped = new TreeMap<>(files);
            byte[] copy = weights.clone();
            copy[copy.length - 10] ^= 0x10;
            flipped.put("model.safetensors", copy);
            assertTrue(failure(flipped, m).contains("SHA-256"));

            Map<String, byte[]> garbled = new TreeMap<>(files);
            copy = weights.clone();
            copy[8] = 'x';
            garbled.put("model.safetensors", copy);
            assertTrue(failure(garbled, m).contains("header is not JSON"));

            Map<String, byte[]> badConfig = new TreeMap<>(files);
            badConfig.put(
                    "config.json",
                    "{\"format_version\": 1, \"hidden".getBytes(StandardCharsets.UTF_8));
            assertTrue(failure(badConfig, m).contains("config.json is not JSON"));

            Map<String, byte[]> otherShape = new TreeMap<>(files);
            otherShape.put(
                    "config.json",
                    ModelCheckpoint.configJson(models(m).get(2).config().withVocabSize(301))
                            .getBytes(StandardCharsets.UTF_8));
            String message = failure(otherShape, m);
            assertTrue(message.contains("embeddings.word has shape (300, 128)"), message);

            Map<String, byte[]> missing = new TreeMap<>(files);
            missing.remove("model.safetensors");
            assertTrue(failure(missing, m).contains("model.safetensors does not exist"));
        }
    }
}
