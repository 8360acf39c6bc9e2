package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import dev.lmspark.model.loss.CrossEntropyLoss;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.loss.SmileLoss;
import java.util.Locale;

/**
 * The token loss a pretraining run minimises: plain cross-entropy (MLE) or one of the SMILE
 * variants (subset-masked MLE, Hugging Face-style mean over predicted tokens). The random variant's
 * draws are keyed by ({@code seed}, step), so a step's loss is reproducible.
 *
 * @param kind which loss
 * @param seed root seed of the random variant's draws (unused by the others)
 */
public record TrainingLoss(Kind kind, long seed) {

    /** The loss functions {@code train --loss} offers. */
    public enum Kind {
        /** Cross-entropy over the whole vocabulary. */
        MLE,
        /** SMILE: softmax over the ids in the sequence's labels, full softmax at the first. */
        SMILE,
        /** SMILE's random-subset variant: 10 random ids per position plus the label. */
        SMILE_RANDOM,
        /** SMILE's reverse-subset variant: the ids not in the sequence's labels, plus the label. */
        SMILE_REVERSE;

        /** {@code mle}, {@code smile}, {@code smile-random}, {@code smile-reverse}. */
        public String cliName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /**
         * The kind named {@code s} on the command line.
         *
         * @throws IllegalArgumentException naming the value and the choices
         */
        public static Kind fromCliName(String s) {
            for (Kind k : values()) {
                if (k.cliName().equalsIgnoreCase(s)) {
                    return k;
                }
            }
            throw new IllegalArgumentException(
                    "unknown --loss '" + s + "'; use mle, smile, smile-random or smile-reverse");
        }
    }

    /** Cross-entropy. */
    public static TrainingLoss mle() {
        return new TrainingLoss(Kind.MLE, 0);
    }

    /** Whether this is plain cross-entropy (which needs the logits at labelled positions only). */
    public boolean isMle() {
        return kind == Kind.MLE;
    }

    /**
     * The mean loss over predicted tokens of logits {@code (B, T, V)} against labels {@code (B, T)}
     * already aligned with them (-100: not predicted), at training step {@code step}.
     */
    public NDArray compute(NDArray logits, NDArray labels, long step) {
        return switch (kind) {
            case MLE ->
                    new CrossEntropyLoss(ShardBatch.IGNORE, Reduction.MEAN).compute(logits, labels);
            case SMILE -> smile(SmileLoss.Variant.SUBSET, true).compute(logits, labels, step);
            case SMILE_RANDOM ->
                    smile(SmileLoss.Variant.RANDOM, false).compute(logits, labels, step);
            case SMILE_REVERSE ->
                    smile(SmileLoss.Variant.REVERSE, false).compute(logits, labels, step);
        };
    }

    private SmileLoss smile(SmileLoss.Variant variant, boolean firstTokenMle) {
        return new SmileLoss(variant, firstTokenMle, 10, seed, ShardBatch.IGNORE, Reduction.MEAN);
    }
}
