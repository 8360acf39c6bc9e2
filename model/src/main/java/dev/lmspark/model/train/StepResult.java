package dev.lmspark.model.train;

import java.io.Serializable;
import java.util.List;

/**
 * What one training step did.
 *
 * @param step the step's index (0-based, global)
 * @param lr the learning rate it used
 * @param gradNorm the global gradient norm before clipping
 * @param tokens real (non-padding) tokens trained on
 * @param examples rows trained on
 * @param terms each loss term summed over the step's micro-batches
 */
public record StepResult(
        long step, double lr, float gradNorm, long tokens, long examples, List<TermSum> terms) {

    /**
     * One loss term over a step, or over any number of steps once {@link #plus added}: {@code sum}
     * of the micro-batches' mean × count, and the count (predicted tokens, or NSP pairs).
     */
    public record TermSum(String name, double sum, long count) implements Serializable {
        /** The mean over everything counted. */
        public double mean() {
            return count == 0 ? 0 : sum / count;
        }

        /** This term and {@code other} (the same name) together. */
        public TermSum plus(TermSum other) {
            return new TermSum(name, sum + other.sum, count + other.count);
        }
    }

    /** The loss the step minimised: the sum of its terms' means. */
    public double loss() {
        double total = 0;
        for (TermSum t : terms) {
            total += t.mean();
        }
        return total;
    }
}
