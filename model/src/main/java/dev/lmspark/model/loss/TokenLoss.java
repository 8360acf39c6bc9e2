package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;

/**
 * Shared pieces of the token losses: the ignore mask, the label logits (a gather, never a one-hot
 * {@code B×T×V}), and a numerically stable log-sum-exp.
 */
final class TokenLoss {
    private TokenLoss() {}

    /** 1 where the label counts, 0 where it is {@code ignoreIndex}; the logits' float type. */
    static NDArray counted(NDArray labels, int ignoreIndex, DataType type) {
        return labels.neq(ignoreIndex).toType(type, false);
    }

    /** {@code logits[b, t, labels[b, t]]}, with ignored labels read at id 0. */
    static NDArray labelLogits(NDArray logits, NDArray labels, int ignoreIndex) {
        NDArray safe =
                NDArrays.where(labels.eq(ignoreIndex), labels.zerosLike(), labels)
                        .toType(DataType.INT64, false);
        return logits.gather(safe.expandDims(-1), -1).squeeze(-1);
    }

    /** log Σ exp(x) over {@code axis}, stable for -inf entries (not for an all -inf row). */
    static NDArray logSumExp(NDArray x, int axis) {
        NDArray max = x.max(new int[] {axis}, true).stopGradient();
        return x.sub(max).exp().sum(new int[] {axis}).log().add(max.squeeze(axis));
    }

    /** log(exp(a) + exp(b)), elementwise and stable. */
    static NDArray logAddExp(NDArray a, NDArray b) {
        NDArray max = a.maximum(b).stopGradient();
        return a.sub(max).exp().add(b.sub(max).exp()).log().add(max);
    }
}
