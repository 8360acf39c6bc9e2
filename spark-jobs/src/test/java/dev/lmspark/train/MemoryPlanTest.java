package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** The local-mode memory refusal: its lower bound per parameter, and the line it refuses with. */
class MemoryPlanTest {
    private static final long GIB = 1L << 30;

    private static TrainConfig config(int workers, String deltaPrecision, String precision)
            throws Exception {
        ObjectNode c = TrainConfigTest.recorded();
        c.put("workers", workers);
        c.put("delta_precision", deltaPrecision);
        c.put("precision", precision);
        return TrainConfig.fromJson(c);
    }

    @Test
    void aWorkerKeepsItsReplicaGradientsMomentsAndTheirCopy() throws Exception {
        // replica 4 + gradients 4 + AdamW moments 8 (+ their round-start copy 8, + error 4)
        assertEquals(24, MemoryPlan.stateBytesPerParameter(config(1, "fp32", "fp32"), true));
        assertEquals(16, MemoryPlan.stateBytesPerParameter(config(1, "fp32", "fp32"), false));
        assertEquals(28, MemoryPlan.stateBytesPerParameter(config(1, "int8", "fp32"), true));
        assertEquals(0, MemoryPlan.replicaBytesPerParameter(config(1, "fp32", "fp32")));
        assertEquals(2, MemoryPlan.replicaBytesPerParameter(config(1, "fp32", "bf16")));
    }

    @Test
    void aRunPastTheMachinesMemoryIsRefusedWithTheNumbersAndTheSettingToChange() throws Exception {
        TrainConfig two = config(2, "fp32", "fp32");
        // 1B parameters × 2 workers × 24 bytes = 44.7 GiB against 24 GiB.
        String line = MemoryPlan.refusal(two, 1_000_000_000L, true, 1, 24 * GIB);
        assertTrue(
                line.startsWith(
                        "the run needs at least 44.7 GiB of memory, this machine has"
                                + " 24.0 GiB: 1,000,000,000 parameters × 2 worker(s) × 24 bytes"),
                line);
        assertTrue(line.contains("--conf spark.lmspark.train.roundStartCopy=false"), line);
        assertTrue(!line.contains("\n"), "one line: " + line);
        // Without the copy it is 29.8 GiB: still refused, with nothing about the copy to change.
        String without = MemoryPlan.refusal(two, 1_000_000_000L, false, 1, 24 * GIB);
        assertTrue(without.startsWith("the run needs at least 29.8 GiB"), without);
        assertTrue(!without.contains("roundStartCopy"), without);
        // bf16 replicas add their 2 bytes per parameter for each replica training at once.
        String bf16 =
                MemoryPlan.refusal(config(2, "fp32", "bf16"), 1_000_000_000L, true, 2, 24 * GIB);
        assertTrue(bf16.contains(" + 2 replica(s) × 2 bytes"), bf16);
        // What fits is not refused: 300M × 2 × 24 bytes = 13.4 GiB.
        assertNull(MemoryPlan.refusal(two, 300_000_000L, true, 1, 24 * GIB));
    }
}
