package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A batch's loss as a task computes it: the differentiable scalar to minimise and its terms.
 *
 * @param total the sum of the terms' means, a scalar that autograd records
 * @param terms each objective's mean loss and what it averages over
 */
public record TaskLoss(NDArray total, List<Term> terms) {

    /**
     * One objective's mean loss over the batch.
     *
     * @param name {@code mlm}, {@code nsp} or {@code clm}
     * @param mean the mean loss, a scalar
     * @param count what the mean is over: predicted tokens (mlm, clm) or sentence pairs (nsp)
     */
    public record Term(String name, NDArray mean, long count) {}
}
