package dev.lmspark.train;

import dev.lmspark.data.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.SparkContext;

/**
 * What a run's workers need in memory at least, from the parameter count alone (docs/scaling.md,
 * "Memory per node"): per worker, its AdamW moments (8 bytes a parameter), the round-start copy of
 * them (8, unless {@code spark.lmspark.train.roundStartCopy=false}), its replica's parameters and
 * gradients (8, kept between rounds) and, with compressed updates, the error feedback (4); a
 * replica in training adds 2 for a bf16 compute copy. In the local modes every worker lives on this
 * machine, so a run whose lower bound exceeds its physical memory is refused before it starts, with
 * the numbers; activations come on top, so passing this check is not a promise.
 */
final class MemoryPlan {
    private MemoryPlan() {}

    /** Bytes per parameter a worker keeps between rounds (its replica included). */
    static long stateBytesPerParameter(TrainConfig c, boolean roundStartCopy) {
        return 16 + (roundStartCopy ? 8 : 0) + (c.deltaPrecision().equals("fp32") ? 0 : 4);
    }

    /** Bytes per parameter a replica adds while it trains. */
    static long replicaBytesPerParameter(TrainConfig c) {
        return c.precision().equals("bf16") ? 2 : 0;
    }

    /**
     * Refuses (exit 2) a local-mode run whose workers' states and replicas cannot fit in this
     * machine's memory; a no-op on a cluster or where the machine's memory is unknown.
     */
    static void check(SparkContext sc, TrainConfig c, long parameters) {
        boolean local = sc.isLocal() || sc.master().startsWith("local-cluster");
        long machine = physicalMemory();
        if (!local || machine <= 0) {
            return;
        }
        String refusal =
                refusal(
                        c,
                        parameters,
                        sc.conf().getBoolean(TrainJob.ROUND_START_COPY, true),
                        // In local[N] the workers take turns training; in local-cluster each
                        // executor trains one at a time.
                        sc.isLocal() ? 1 : Math.min(c.workers(), executors(sc)),
                        machine);
        if (refusal != null) {
            throw new BadInputException(refusal);
        }
    }

    /**
     * Why {@code parameters} trained as {@code c} says cannot fit in {@code machine} bytes with
     * {@code replicas} replicas training at once, or null when the lower bound fits.
     */
    static String refusal(
            TrainConfig c, long parameters, boolean copy, long replicas, long machine) {
        long state = stateBytesPerParameter(c, copy);
        long replica = replicaBytesPerParameter(c);
        long need = parameters * (c.workers() * state + replicas * replica);
        if (need <= machine) {
            return null;
        }
        return String.format(
                "the run needs at least %.1f GiB of memory, this machine has %.1f GiB:"
                        + " %,d parameters × %d worker(s) × %d bytes of replica and optimizer"
                        + " state%s%s, activations aside; use fewer --workers or a smaller"
                        + " model%s",
                need / 1073741824.0,
                machine / 1073741824.0,
                parameters,
                c.workers(),
                state,
                copy ? " (with its round-start copy)" : "",
                replica == 0 ? "" : String.format(" + %d replica(s) × %d bytes", replicas, replica),
                copy
                        ? ", or --conf "
                                + TrainJob.ROUND_START_COPY
                                + "=false (8 bytes a parameter less per worker)"
                        : "");
    }

    private static long executors(SparkContext sc) {
        String m = sc.master();
        try {
            return Long.parseLong(m.substring(m.indexOf('[') + 1, m.indexOf(',')).trim());
        } catch (RuntimeException e) {
            return 1;
        }
    }

    /** MemTotal of /proc/meminfo in bytes; -1 where unknown. */
    static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: unknown
        }
        return -1;
    }
}
