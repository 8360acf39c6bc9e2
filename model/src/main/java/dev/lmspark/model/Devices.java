package dev.lmspark.model;

import ai.djl.Device;
import ai.djl.engine.Engine;

/**
 * Chooses where tensors live: the GPU a caller names (Spark assigns one per task on GPU clusters),
 * else the first GPU the PyTorch engine sees, else the CPU.
 */
public final class Devices {
    /** The engine lmspark trains with. */
    public static final String ENGINE = "PyTorch";

    private Devices() {}

    /**
     * The PyTorch engine; its natives come from the classpath (DJL offline mode), never a download.
     */
    public static Engine engine() {
        return Engine.getEngine(ENGINE);
    }

    /**
     * The device for a task.
     *
     * @param gpuAddress a GPU index as a string (from Spark's task resources), or null for "any"
     * @return that GPU when the engine has it, else GPU 0 when one exists, else the CPU
     */
    public static Device forTask(String gpuAddress) {
        int gpus = engine().getGpuCount();
        if (gpus == 0) {
            return Device.cpu();
        }
        if (gpuAddress != null && !gpuAddress.isBlank()) {
            int index = Integer.parseInt(gpuAddress.trim());
            if (index < 0 || index >= gpus) {
                throw new IllegalArgumentException(
                        "GPU address "
                                + gpuAddress
                                + " is not one of this node's "
                                + gpus
                                + " GPUs");
            }
            return Device.gpu(index);
        }
        return Device.gpu(0);
    }
}
