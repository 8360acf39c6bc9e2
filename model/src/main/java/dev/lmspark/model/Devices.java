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
     * Null when this process's CPU matrix products are bit-reproducible from run to run, else a
     * one-line warning naming the fix. libtorch's bundled MKL sums a product in an order that
     * depends on how its operands happen to be aligned in memory unless {@code MKL_CBWR} is set
     * before the engine loads; then two runs of the same training on the same data and seed drift
     * apart after a few dozen steps. {@code deploy/bin/lmspark} sets it for the driver and the
     * executors.
     */
    public static String reproducibilityWarning() {
        String mode = System.getenv("MKL_CBWR");
        if (mode != null && !mode.isBlank()) {
            return null;
        }
        return "MKL_CBWR is not set, so CPU training is not bit-reproducible from run to run;"
                + " set MKL_CBWR=AUTO,STRICT in the environment of the driver and the executors"
                + " (spark.executorEnv.MKL_CBWR), as deploy/bin/lmspark does";
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
