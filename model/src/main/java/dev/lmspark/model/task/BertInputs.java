package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;

/**
 * What a BERT forward pass takes. Either {@code inputIds} {@code (B, T)} or {@code inputsEmbeds}
 * {@code (B, T, H)}; the rest may be null: {@code attentionMask} (1 real, 0 padding; default all
 * real), {@code tokenTypeIds} (default zeros), {@code positionIds} (default 0…T−1; give them for
 * left-padded rows).
 */
public record BertInputs(
        NDArray inputIds,
        NDArray attentionMask,
        NDArray tokenTypeIds,
        NDArray positionIds,
        NDArray inputsEmbeds) {

    public BertInputs {
        if ((inputIds == null) == (inputsEmbeds == null)) {
            throw new IllegalArgumentException("give exactly one of inputIds and inputsEmbeds");
        }
    }

    /** Ids, mask and segment ids, the usual case. */
    public static BertInputs of(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
        return new BertInputs(inputIds, attentionMask, tokenTypeIds, null, null);
    }
}
