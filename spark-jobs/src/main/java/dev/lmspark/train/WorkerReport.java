package dev.lmspark.train;

import dev.lmspark.model.train.StepResult;
import java.io.Serializable;
import java.util.List;

/**
 * What a worker's round tells the driver (through the combine of shard 0): small, whatever the
 * model's size. The update itself travels as the shard pieces of the sharded combine.
 *
 * @param worker the worker id
 * @param round the round (1-based)
 * @param finite whether the round's loss and update were finite (the update counts); a worker whose
 *     round was not finite sends no update and goes on from its state at the round's start
 * @param deltaNorm ‖Δ‖₂ of the update over every parameter, in float64 (NaN when not finite)
 * @param tokens real tokens trained on
 * @param examples rows trained on
 * @param terms each loss term summed over the round's steps
 * @param lastLr the learning rate of the round's last step
 * @param computeSeconds the local steps' wall time, reading the rows included (building the
 *     replica, the update and sending it excluded)
 * @param setupSeconds from the task's start to the first step: the worker's state (taken live,
 *     restored or replayed), the round's global parameters read, the replica built
 * @param sendSeconds computing the update and handing its pieces to Spark's shuffle
 * @param executor the executor that ran it
 * @param host that executor's host
 * @param restore how the worker's state was found
 * @param bytesRead shard bytes the worker read for the round (footers and column chunks)
 * @param rssBytes the worker JVM's resident set size at the end of the round, or -1 where the OS
 *     does not say
 * @param deltaBytes the bytes of update the worker sent (the pieces' payload, as sent)
 */
public record WorkerReport(
        int worker,
        long round,
        boolean finite,
        double deltaNorm,
        long tokens,
        long examples,
        List<StepResult.TermSum> terms,
        double lastLr,
        double computeSeconds,
        double setupSeconds,
        double sendSeconds,
        String executor,
        String host,
        Restore restore,
        long bytesRead,
        long rssBytes,
        long deltaBytes)
        implements Serializable {

    /** How a task found its worker's inner optimizer state. */
    public enum Source {
        /** Live in the executor, exactly at the round's start: the normal case. */
        LIVE,
        /** From the copy the executor kept at the round's start (a retried attempt). */
        ROUND_START_COPY,
        /** Rebuilt from the last reliable copy and replayed exactly to the round's start. */
        REPLAYED,
        /** Rebuilt from the last reliable copy, not replayed (its rounds' parameters are gone). */
        RESET
    }

    /**
     * @param source how the state was found
     * @param baseRound the round of the reliable copy a rebuilt state started from
     * @param replayed rounds replayed
     * @param missingRound with {@link Source#RESET}: the round whose global parameters were gone
     * @param why why the live state was not used (empty when it was)
     */
    public record Restore(
            Source source, long baseRound, long replayed, long missingRound, String why)
            implements Serializable {
        static Restore live() {
            return new Restore(Source.LIVE, -1, 0, -1, "");
        }

        /** Whether the state was not taken live. */
        boolean rebuilt() {
            return source == Source.REPLAYED || source == Source.RESET;
        }
    }
}
