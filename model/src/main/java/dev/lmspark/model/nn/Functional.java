package dev.lmspark.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/**
 * Stateless layers, each one fused engine kernel forward and one backward (PyTorch's {@code
 * torch.nn.functional} through DJL's {@code NDArrayEx}) rather than a chain of elementwise ops: a
 * training step launches fewer kernels and keeps fewer temporaries for autograd. Same values as the
 * textbook formulas, to float rounding.
 */
public final class Functional {
    private Functional() {}

    /**
     * {@code x·Wᵀ + b} for x {@code (…, in)}, W {@code (out, in)} and b {@code (out)} or null: one
     * GEMM with the bias as its addend ({@code addmm}; the engine fuses only two-dimensional input,
     * so leading axes are folded into rows first, a view).
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        Shape shape = x.getShape();
        if (shape.dimension() == 2) {
            return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
        }
        NDArray rows = x.reshape(-1, shape.get(shape.dimension() - 1));
        NDArray y = rows.getNDArrayInternal().linear(rows, weight, bias).singletonOrThrow();
        return y.reshape(shape.slice(0, shape.dimension() - 1).add(weight.getShape().get(0)));
    }

    /** Exact (erf) GELU. */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** The logistic sigmoid. */
    public static NDArray sigmoid(NDArray x) {
        return x.getNDArrayInternal().sigmoid();
    }

    /**
     * LayerNorm over the last axis: {@code (x − mean) / √(var + eps) · weight + bias}, biased
     * variance.
     */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(x.getShape().tail()), weight, bias, (float) eps)
                .singletonOrThrow();
    }

    /** Rows of {@code table} {@code (N, H)} at {@code ids} {@code (…)}: {@code (…, H)}. */
    public static NDArray embedding(NDArray table, NDArray ids) {
        return table.getNDArrayInternal()
                .embedding(ids.toType(DataType.INT64, false), table, SparseFormat.DENSE)
                .singletonOrThrow();
    }

    /**
     * Inverted dropout in training: each unit zeroed with probability {@code rate}, the rest scaled
     * by {@code 1 / (1 − rate)}. Draws from the engine's generator (seed it first).
     */
    public static NDArray dropout(NDArray x, double rate) {
        return x.getNDArrayInternal().dropout(x, (float) rate, true).singletonOrThrow();
    }
}
