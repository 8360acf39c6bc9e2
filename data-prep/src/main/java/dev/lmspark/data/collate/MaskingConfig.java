package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.Locale;

/**
 * How MLM positions are chosen and replaced.
 *
 * @param strategy {@code BERNOULLI} (Hugging Face's {@code DataCollatorForLanguageModeling}: each
 *     non-special token independently with {@code mlmProbability}) or {@code FIXED_COUNT} (Google
 *     BERT: exactly {@code min(maxPredictions, max(1, round(n × mlmProbability)))} of the n
 *     non-special tokens, rounding half to even as Python does)
 * @param mlmProbability chance of a token (or, whole-word, of a word) being predicted; default 0.15
 * @param maskReplaceProb chance a predicted token becomes {@code [MASK]}; default 0.8
 * @param randomReplaceProb chance it becomes a random non-special token; default 0.1 (the rest
 *     stays unchanged)
 * @param maxPredictions cap on predicted tokens per sequence for {@code FIXED_COUNT}
 * @param wholeWord choose whole words (all sub-tokens of a word together)
 */
public record MaskingConfig(
        Strategy strategy,
        double mlmProbability,
        double maskReplaceProb,
        double randomReplaceProb,
        int maxPredictions,
        boolean wholeWord)
        implements Serializable {

    /** Masking strategies. */
    public enum Strategy {
        BERNOULLI,
        FIXED_COUNT;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Strategy fromCliName(String s) {
            for (Strategy v : values()) {
                if (v.cliName().equalsIgnoreCase(s)) {
                    return v;
                }
            }
            throw new IllegalArgumentException(
                    "unknown masking '" + s + "'; use bernoulli or fixed-count");
        }
    }

    /** Validates, naming the flag. */
    public MaskingConfig {
        check("--mlm-probability", mlmProbability);
        check("--mask-replace-prob", maskReplaceProb);
        check("--random-replace-prob", randomReplaceProb);
        if (mlmProbability == 0) {
            throw new IllegalArgumentException("--mlm-probability must be above 0");
        }
        if (maskReplaceProb + randomReplaceProb > 1 + 1e-12) {
            throw new IllegalArgumentException(
                    "--mask-replace-prob "
                            + maskReplaceProb
                            + " plus --random-replace-prob "
                            + randomReplaceProb
                            + " exceed 1");
        }
        if (maxPredictions < 1) {
            throw new IllegalArgumentException(
                    "--max-predictions " + maxPredictions + " must be at least 1");
        }
    }

    private static void check(String flag, double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(flag + " " + p + " must be between 0 and 1");
        }
    }

    /** The defaults: Bernoulli, 0.15, 80/10/10, at most {@code maxPredictions}, token level. */
    public static MaskingConfig defaults(int maxPredictions) {
        return new MaskingConfig(Strategy.BERNOULLI, 0.15, 0.8, 0.1, maxPredictions, false);
    }
}
