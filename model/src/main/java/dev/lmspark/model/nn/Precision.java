package dev.lmspark.model.nn;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The floating-point type a model computes in (the {@code train --precision} flag). The trunk
 * computes in the type of its parameters, so running in bfloat16 means running on bfloat16 copies
 * of them (see {@code dev.lmspark.model.optim.MixedPrecision}); whatever the precision, the losses
 * are computed in float32 and the optimizer keeps float32 master weights.
 */
public enum Precision {
    /** float32 throughout. */
    FP32(DataType.FLOAT32),
    /**
     * bfloat16 matrix products and activations (float32's range, 8 bits of mantissa): no loss
     * scaling is needed. RMSNorm statistics, softmax and LayerNorm accumulate in float32.
     */
    BF16(DataType.BFLOAT16);

    private final DataType dataType;

    Precision(DataType dataType) {
        this.dataType = dataType;
    }

    /** The type of the parameters and activations in the forward and backward passes. */
    public DataType dataType() {
        return dataType;
    }

    /** The flag's spelling: {@code fp32} or {@code bf16}. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The precision spelled {@code flag} ({@code fp32} or {@code bf16}, any case).
     *
     * @throws IllegalArgumentException naming the value and the accepted ones
     */
    public static Precision parse(String flag) {
        for (Precision p : values()) {
            if (p.flag().equalsIgnoreCase(flag)) {
                return p;
            }
        }
        throw new IllegalArgumentException(
                "--precision " + flag + " is not supported; use fp32 or bf16");
    }
}
