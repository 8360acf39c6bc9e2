package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import dev.lmspark.model.nn.Functional;

/**
 * Shared pieces of the token losses: the ignore mask, the label logits (a gather, never a one-hot
 * {@code B×T×V}), and a numerically stable log-sum-exp.
 */
final class TokenLoss {
    private TokenLoss() {}

    /**
     * Half-precision logits cast to float32 (a differentiable cast), others as they are: the
     * log-softmax over a vocabulary needs float32's mantissa.
     */
    static NDArray inFloat32(NDArray logits) {
        DataType type = Functional.dataType(logits);
        return type == DataType.BFLOAT16 || type == DataType.FLOAT16
                ? Functional.cast(logits, DataType.FLOAT32)
                : logits;
    }

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
