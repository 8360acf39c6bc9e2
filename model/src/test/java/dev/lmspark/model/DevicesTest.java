package dev.lmspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void pytorchEngineLoadsOfflineFromTheClasspathNatives() {
        assertEquals("true", System.getProperty("ai.djl.offline"));
        assertEquals("PyTorch", Devices.engine().getEngineName());
        assertEquals("2.5.1", Devices.engine().getVersion());
        Device device = Devices.forTask(null);
        try (NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE)) {
            NDArray a =
                    manager.create(new float[] {1, 2, 3, 4}, new ai.djl.ndarray.types.Shape(2, 2));
            assertArrayEquals(new float[] {7, 10, 15, 22}, a.matMul(a).toFloatArray());
        }
    }

    @Test
    void cpuWhenThereIsNoGpu() {
        if (Devices.engine().getGpuCount() == 0) {
            assertEquals(Device.cpu(), Devices.forTask("0"));
        }
    }
}
