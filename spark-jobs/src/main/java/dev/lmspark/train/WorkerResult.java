package dev.lmspark.train;

import dev.lmspark.model.train.StepResult;
import java.io.Serializable;
import java.util.List;

/**
 * What a worker's round sends the driver.
 *
 * @param worker the worker id
 * @param round the round (1-based)
 * @param delta the worker's parameters at the end of the round minus the global ones it started
 *     from; null when the round's loss or update was not finite (the driver drops it, and the
 *     worker goes on from its state at the start of the round)
 * @param tokens real tokens trained on
 * @param examples rows trained on
 * @param terms each loss term summed over the round's steps
 * @param lastLr the learning rate of the round's last step
 * @param seconds wall time of the training steps
 * @param executor the executor that ran it
 * @param restored whether the state was restored from its serialized form (a retry, a move to
 *     another executor, a resume) rather than taken live from this executor's cache
 * @param bytesRead shard bytes the worker read for the round (footers and column chunks)
 * @param rssBytes the resident set size of the worker's JVM at the end of the round (its heap and
 *     native memory: model replica, optimizer state, libtorch), or -1 where the OS does not say
 *     ({@code /proc/self/status} missing)
 */
public record WorkerResult(
        int worker,
        long round,
        Parameters delta,
        long tokens,
        long examples,
        List<StepResult.TermSum> terms,
        double lastLr,
        double seconds,
        String executor,
        boolean restored,
        long bytesRead,
        long rssBytes)
        implements Serializable {

    /** Whether the round's loss and update were finite (the update counts). */
    public boolean finite() {
        return delta != null;
    }
}
