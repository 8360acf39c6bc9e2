package dev.lmspark.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
}
