package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * BERT masking of one sequence. Special tokens are never chosen; a chosen token becomes {@code
 * [MASK]} with {@code maskReplaceProb}, a random non-special token with {@code randomReplaceProb},
 * and stays itself otherwise. Labels are the original id at chosen positions and {@link #IGNORE}
 * elsewhere, so the predicted positions are exactly those with a label.
 *
 * <p>Shared by data preparation and by the model's {@code createMaskedLmInputs} (dynamic masking),
 * so both mask the same way.
 */
public final class Masker implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The label of positions that are not predicted (PyTorch's ignore index). */
    public static final int IGNORE = -100;

    private final MaskingConfig config;
    private final int maskId;
    private final int[] replacements;

    /**
     * @param config how to choose and replace
     * @param maskId the {@code [MASK]} id
     * @param vocabSize one more than the largest token id
     * @param specialIds ids never chosen and never drawn as random replacements
     */
    public Masker(MaskingConfig config, int maskId, int vocabSize, BitSet specialIds) {
        this.config = config;
        this.maskId = maskId;
        int[] ids = new int[vocabSize];
        int n = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (!specialIds.get(id)) {
                ids[n++] = id;
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("the vocabulary has no non-special tokens");
        }
        this.replacements = Arrays.copyOf(ids, n);
    }

    public MaskingConfig config() {
        return config;
    }

    /** A masked sequence and what happened to its positions. */
    public record Result(int[] inputIds, int[] labels, int masked, int randomized, int unchanged) {
        public int predicted() {
            return masked + randomized + unchanged;
        }
    }

    /**
     * Masks {@code ids}.
     *
     * @param special true at positions that must not be chosen (special tokens, padding)
     * @param wordStart true at the first sub-token of each word (used for whole-word masking)
     * @param random the sequence's own generator, derived from (seed, example)
     */
    public Result mask(int[] ids, boolean[] special, boolean[] wordStart, SplittableRandom random) {
        boolean[] chosen = choose(special, wordStart, random);
        int[] input = ids.clone();
        int[] labels = new int[ids.length];
        Arrays.fill(labels, IGNORE);
        int masked = 0;
        int randomized = 0;
        int unchanged = 0;
        double randomShare = config.randomReplaceProb();
        for (int i = 0; i < ids.length; i++) {
            if (!chosen[i]) {
                continue;
            }
            labels[i] = ids[i];
            double u = random.nextDouble();
            if (u < config.maskReplaceProb()) {
                input[i] = maskId;
                masked++;
            } else if (u < config.maskReplaceProb() + randomShare) {
                input[i] = replacements[random.nextInt(replacements.length)];
                randomized++;
            } else {
                unchanged++;
            }
        }
        return new Result(input, labels, masked, randomized, unchanged);
    }

    /** The positions to predict. */
    boolean[] choose(boolean[] special, boolean[] wordStart, SplittableRandom random) {
        int n = special.length;
        boolean[] chosen = new boolean[n];
        // Units are tokens, or whole words: a word is a start token and the non-start tokens after
        // it.
        List<int[]> units = new ArrayList<>();
        int candidates = 0;
        for (int i = 0; i < n; i++) {
            if (special[i]) {
                continue;
            }
            candidates++;
            if (config.wholeWord()
                    && !wordStart[i]
                    && !units.isEmpty()
                    && units.get(units.size() - 1)[1] == i) {
                units.get(units.size() - 1)[1] = i + 1;
            } else {
                units.add(new int[] {i, i + 1});
            }
        }
        if (config.strategy() == MaskingConfig.Strategy.BERNOULLI) {
            for (int[] unit : units) {
                if (random.nextDouble() < config.mlmProbability()) {
                    Arrays.fill(chosen, unit[0], unit[1], true);
                }
            }
            return chosen;
        }
        if (candidates == 0) {
            return chosen;
        }
        int target =
                Math.min(
                        config.maxPredictions(),
                        Math.max(1, (int) Math.rint(candidates * config.mlmProbability())));
        // Google BERT: shuffle the units, take them in order while the count stays within target.
        for (int i = units.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int[] t = units.get(i);
            units.set(i, units.get(j));
            units.set(j, t);
        }
        int count = 0;
        for (int[] unit : units) {
            if (count >= target) {
                break;
            }
            int size = unit[1] - unit[0];
            if (count + size > target) {
                continue;
            }
            Arrays.fill(chosen, unit[0], unit[1], true);
            count += size;
        }
        return chosen;
    }
}
