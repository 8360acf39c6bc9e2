package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;

/**
 * Cross-entropy of logits {@code (B, T, V)} against labels {@code (B, T)}; positions labelled
 * {@code ignoreIndex} (default -100) count neither in the sum nor in the mean's denominator, as
 * PyTorch's {@code F.cross_entropy(..., ignore_index=-100)}. A causal LM shifts before calling.
 */
public final class CrossEntropyLoss {
    private final int ignoreIndex;
    private final Reduction reduction;

    /** Mean over counted tokens, ignore index -100. */
    public CrossEntropyLoss() {
        this(-100, Reduction.MEAN);
    }

    public CrossEntropyLoss(int ignoreIndex, Reduction reduction) {
        this.ignoreIndex = ignoreIndex;
        this.reduction = reduction;
    }

    /** The loss; a scalar unless the reduction is {@link Reduction#NONE}. */
    public NDArray compute(NDArray logits, NDArray labels) {
        NDArray counted = TokenLoss.counted(labels, ignoreIndex, logits.getDataType());
        NDArray perToken =
                TokenLoss.logSumExp(logits, -1)
                        .sub(TokenLoss.labelLogits(logits, labels, ignoreIndex))
                        .mul(counted);
        return reduction.apply(perToken, counted);
    }
}
