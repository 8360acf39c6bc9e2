package dev.lmspark.model.task;

import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.model.loss.Reduction;

/**
 * How {@link BertForPretraining#lossFromText} encodes, masks and weighs; start from {@link
 * #defaults()} and change what differs.
 *
 * @param maxLength longest row, special tokens included; default 512 (see {@link BertTextBatch} for
 *     the truncation rule)
 * @param masking how MLM positions are chosen and replaced (the data-prep {@code Masker}); default
 *     Bernoulli 0.15, 80/10/10
 * @param seed row r of a batch is masked from (seed, r); default 0
 * @param mlmWeight weight of the MLM loss; default 1
 * @param nspWeight weight of the NSP loss; default 1
 * @param reduction {@link Reduction#MEAN} (default) or {@link Reduction#SUM} over predicted tokens
 *     (MLM) and pairs (NSP)
 */
public record TextLossOptions(
        int maxLength,
        MaskingConfig masking,
        long seed,
        float mlmWeight,
        float nspWeight,
        Reduction reduction) {

    /** Validates, naming the field. */
    public TextLossOptions {
        if (maxLength < 3) {
            throw new IllegalArgumentException(
                    "maxLength " + maxLength + " is too short for [CLS] A [SEP]; use at least 3");
        }
        if (masking == null) {
            throw new IllegalArgumentException("masking is null; use MaskingConfig.defaults(…)");
        }
        if (!(mlmWeight >= 0 && nspWeight >= 0 && Float.isFinite(mlmWeight + nspWeight))) {
            throw new IllegalArgumentException(
                    "weights mlm "
                            + mlmWeight
                            + ", nsp "
                            + nspWeight
                            + " must be finite and not negative");
        }
        if (reduction != Reduction.MEAN && reduction != Reduction.SUM) {
            throw new IllegalArgumentException(
                    "reduction "
                            + reduction
                            + " is not supported from text; use MEAN or SUM, or loss(…) for"
                            + " per-token losses");
        }
    }

    /** maxLength 512, Bernoulli 0.15 masking (80/10/10), seed 0, weights 1 and 1, mean. */
    public static TextLossOptions defaults() {
        return new TextLossOptions(512, MaskingConfig.defaults(80), 0, 1, 1, Reduction.MEAN);
    }

    public TextLossOptions withMaxLength(int n) {
        return new TextLossOptions(n, masking, seed, mlmWeight, nspWeight, reduction);
    }

    public TextLossOptions withMasking(MaskingConfig m) {
        return new TextLossOptions(maxLength, m, seed, mlmWeight, nspWeight, reduction);
    }

    public TextLossOptions withSeed(long s) {
        return new TextLossOptions(maxLength, masking, s, mlmWeight, nspWeight, reduction);
    }

    public TextLossOptions withWeights(float mlm, float nsp) {
        return new TextLossOptions(maxLength, masking, seed, mlm, nsp, reduction);
    }

    public TextLossOptions withReduction(Reduction r) {
        return new TextLossOptions(maxLength, masking, seed, mlmWeight, nspWeight, r);
    }
}
