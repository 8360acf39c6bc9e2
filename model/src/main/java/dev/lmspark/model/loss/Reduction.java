package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;

/** How per-token losses become the returned value. */
public enum Reduction {
    /** Average over the counted (non-ignored) tokens. */
    MEAN,
    /** Sum over the counted tokens. */
    SUM,
    /** One value per token, {@code (B, T)}, zero at ignored positions. */
    NONE;

    /** Reduces {@code perToken} {@code (B, T)}, already zero where {@code counted} is 0. */
    NDArray apply(NDArray perToken, NDArray counted) {
        return switch (this) {
            case MEAN -> perToken.sum().div(counted.sum().maximum(1f));
            case SUM -> perToken.sum();
            case NONE -> perToken;
        };
    }
}
