package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;
import java.util.function.UnaryOperator;

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

    /**
     * The loss; a scalar unless the reduction is {@link Reduction#NONE}. Half-precision logits are
     * cast to float32 first: the loss is float32.
     */
    public NDArray compute(NDArray logits, NDArray labels) {
        logits = TokenLoss.inFloat32(logits);
        NDArray counted = TokenLoss.counted(labels, ignoreIndex, logits.getDataType());
        // log-softmax is one fused kernel forward and one backward (a log-sum-exp spelled out in
        // elementwise ops makes several passes over the B×T×V logits each way).
        NDArray perToken =
                TokenLoss.labelLogits(logits.logSoftmax(-1), labels, ignoreIndex)
                        .neg()
                        .mul(counted);
        return reduction.apply(perToken, counted);
    }

    /**
     * The loss of {@code head}'s logits over hidden states {@code (B, T, H)}, with the head (the
     * vocabulary projection) applied only at labelled positions, as Google BERT does: the same
     * value as {@code compute(head(hidden), labels)}, for a fraction of the work when few positions
     * are labelled. With {@link Reduction#NONE} (a per-position result) the head runs everywhere.
     */
    public NDArray computeAtLabelled(NDArray hidden, NDArray labels, UnaryOperator<NDArray> head) {
        if (reduction == Reduction.NONE) {
            return compute(head.apply(hidden), labels);
        }
        NDArray flatLabels = labels.reshape(-1);
        NDArray positions = flatLabels.neq(ignoreIndex).nonzero().reshape(-1);
        NDArray picked = hidden.reshape(-1, hidden.getShape().get(2)).get(positions);
        return compute(head.apply(picked).expandDims(0), flatLabels.get(positions).expandDims(0));
    }
}
