package dev.lmspark.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Stateless layers, each one fused engine kernel forward and one backward (PyTorch's {@code
 * torch.nn.functional} through DJL's {@code NDArrayEx}) rather than a chain of elementwise ops: a
 * training step launches fewer kernels and keeps fewer temporaries for autograd. Same values as the
 * textbook formulas, to float rounding. Also the type helpers bfloat16 needs with DJL 0.32 ({@link
 * #dataType}, {@link #cast}, {@link #softmax}): its PyTorch binding can neither name bfloat16 nor
 * cast with autograd.
 */
public final class Functional {
    private Functional() {}

    /**
     * The type of {@code x}, bfloat16 included: DJL 0.32's PyTorch binding reports bfloat16 arrays
     * as {@link DataType#UNKNOWN} (the only other types it cannot name, complex and quantized ones,
     * never occur here).
     */
    public static DataType dataType(NDArray x) {
        DataType type = x.getDataType();
        return type == DataType.UNKNOWN ? DataType.BFLOAT16 : type;
    }

    /**
     * {@code x} as {@code type}, recorded by autograd (the gradient is cast back). {@code
     * NDArray.toType} will not do: DJL 0.32's native cast runs without autograd, and asking it for
     * bfloat16 aborts the JVM (its dtype table stops before bfloat16). So the cast runs through a
     * two-line TorchScript module shipped as a resource ({@code model/src/main/python/
     * make_cast_module.py}), which takes the target type from an exemplar tensor.
     */
    public static NDArray cast(NDArray x, DataType type) {
        if (dataType(x) == type) {
            return x;
        }
        if (!(x instanceof PtNDArray)) {
            return x.toType(type, false);
        }
        NDManager m = x.getManager();
        NDArray like =
                type == DataType.BFLOAT16
                        ? CastModule.bfloat16((PtNDArray) x)
                        : m.zeros(new Shape(), type, x.getDevice());
        return CastModule.BLOCK
                .forward(new ParameterStore(m, false), new NDList(x, like), true)
                .singletonOrThrow();
    }

    /**
     * A float32 scalar whose memory the engine owns, on {@code like}'s manager and device: the
     * factor to use where autograd keeps it for the backward pass (the gradient of {@code x·s} is
     * {@code g·s}). {@code NDArray.mul(Number)} will not do there: DJL wraps the number in an array
     * over a Java direct buffer and closes it when the call returns, so once the buffer is
     * collected the backward pass reads freed memory (NaN gradients, now and then). Against a
     * bfloat16 array a float32 scalar keeps the array's type.
     */
    public static NDArray scalar(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, DataType.FLOAT32);
    }

    /**
     * Softmax over {@code axis}. bfloat16 input is computed in float32 and cast back, as Hugging
     * Face's eager attention does (DJL's softmax cannot name bfloat16 either).
     */
    public static NDArray softmax(NDArray x, int axis) {
        DataType type = dataType(x);
        if (type == DataType.BFLOAT16) {
            return cast(cast(x, DataType.FLOAT32).softmax(axis), type);
        }
        return x.softmax(axis);
    }

    /** The cast module, loaded once per JVM. */
    private static final class CastModule {
        static final PtSymbolBlock BLOCK = load();

        private static PtSymbolBlock load() {
            try (InputStream in = Functional.class.getResourceAsStream("cast.pt")) {
                if (in == null) {
                    throw new IllegalStateException("cast.pt is missing from the classpath");
                }
                // A manager of its own, never closed: the module lives as long as the JVM.
                PtNDManager m = (PtNDManager) NDManager.newBaseManager("PyTorch");
                return JniUtils.loadModule(m, in, true, false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load cast.pt", e);
            }
        }

        /** A bfloat16 scalar on the device of {@code x}, on its manager. */
        static NDArray bfloat16(PtNDArray x) {
            try (IValue on = IValue.from(x);
                    IValue v = IValueUtils.runMethod(BLOCK, "bfloat16", on)) {
                return v.toTensor(x.getManager());
            }
        }
    }

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
