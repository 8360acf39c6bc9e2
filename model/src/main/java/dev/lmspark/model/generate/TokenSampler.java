package dev.lmspark.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * How one token is drawn from a model's scores over the vocabulary: Hugging Face's logits warpers
 * in their order — temperature, then top-k, then top-p — and a categorical draw from what is left.
 * The draw takes one {@code nextDouble()} from the caller's generator, so a caller that derives the
 * generator from {@code (seed, row, step)} gets the same token whatever else runs beside it.
 *
 * @param temperature the scores are divided by it before the softmax; 0 means greedy (the most
 *     likely token, the lowest id among equals; top-k and top-p then change nothing). Default 1.
 * @param topK keep only the tokens whose probability is at least the k-th largest (equals of the
 *     k-th are kept, as Hugging Face's {@code TopKLogitsWarper} does); 0 = off. Default 0.
 * @param topP nucleus: keep the smallest set of most likely tokens whose probability sums to at
 *     least p (Hugging Face's {@code TopPLogitsWarper}; the most likely token is always kept); 1 =
 *     off. Default 1.
 */
public record TokenSampler(double temperature, int topK, double topP) {
    /** Plain sampling from the model's distribution: temperature 1, no top-k, no top-p. */
    public static final TokenSampler DEFAULT = new TokenSampler(1, 0, 1);

    /** The most likely token every time. */
    public static final TokenSampler GREEDY = new TokenSampler(0, 0, 1);

    /** Validates every field, naming it. */
    public TokenSampler {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(
                    "temperature " + temperature + " must be 0 (greedy) or a positive number");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k " + topK + " must be 0 (off) or more");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException(
                    "top-p " + topP + " must be in (0, 1]; 1 turns it off");
        }
    }

    /** Whether every draw is the most likely token. */
    public boolean isGreedy() {
        return temperature == 0;
    }

    /**
     * A token drawn from {@code scores[offset … offset + vocab)} (logits; {@code -∞} bans a token).
     */
    public int sample(float[] scores, int offset, int vocab, SplittableRandom random) {
        if (isGreedy()) {
            return argMax(scores, offset, vocab);
        }
        return draw(distribution(scores, offset, vocab), random);
    }

    /**
     * The distribution tokens are drawn from (not normalized after top-k/top-p: the draw divides by
     * the sum), from {@code scores[offset … offset + vocab)}. Greedy sampling puts all the mass on
     * the most likely token.
     */
    public double[] distribution(float[] scores, int offset, int vocab) {
        if (isGreedy()) {
            double[] one = new double[vocab];
            one[argMax(scores, offset, vocab)] = 1;
            return one;
        }
        double[] p = softmax(scores, offset, vocab, temperature);
        if (topK > 0) {
            keepTopK(p, topK);
        }
        if (topP < 1) {
            keepTopP(p, topP);
        }
        return p;
    }

    /** {@code softmax(scores / temperature)} over {@code scores[offset … offset + length)}. */
    public static double[] softmax(float[] scores, int offset, int length, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            max = Math.max(max, scores[offset + i]);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("every token is banned (all scores are -inf)");
        }
        double[] p = new double[length];
        double sum = 0;
        for (int i = 0; i < length; i++) {
            p[i] = Math.exp((scores[offset + i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /**
     * {@code softmax(scores)[token]} over {@code scores[offset … offset + length)}, at temperature
     * 1.
     */
    public static double probability(float[] scores, int offset, int length, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            max = Math.max(max, scores[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < length; i++) {
            sum += Math.exp(scores[offset + i] - max);
        }
        return Math.exp(scores[offset + token] - max) / sum;
    }

    /**
     * Zeroes, in place, every probability below the k-th largest; equals of the k-th stay. A k of
     * at least the vocabulary size keeps everything.
     */
    public static void keepTopK(double[] probs, int k) {
        if (k >= probs.length) {
            return;
        }
        double kth = probs[descendingOrder(probs)[k - 1]];
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] < kth) {
                probs[i] = 0;
            }
        }
    }

    /**
     * Zeroes, in place, every token outside the nucleus: going down from the most likely token, a
     * token is kept while the mass before it is below {@code p} times the total (so the kept set is
     * the smallest whose mass reaches p, and never empty). Equal probabilities rank by lower id.
     */
    public static void keepTopP(double[] probs, double p) {
        double total = 0;
        for (double q : probs) {
            total += q;
        }
        double bound = p * total;
        double before = 0;
        boolean keeping = true;
        for (int id : descendingOrder(probs)) {
            if (!keeping) {
                probs[id] = 0;
            } else {
                before += probs[id];
                keeping = before < bound;
            }
        }
    }

    /** A token drawn with probability proportional to {@code weights} (one uniform draw). */
    public static int draw(double[] weights, SplittableRandom random) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double u = random.nextDouble() * total;
        int last = -1;
        double cumulative = 0;
        for (int i = 0; i < weights.length; i++) {
            if (weights[i] > 0) {
                cumulative += weights[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("nothing to draw from: every weight is 0");
        }
        return last; // u fell past the end through rounding
    }

    /** The index of the largest of {@code scores[offset … offset + length)}, the first if tied. */
    public static int argMax(float[] scores, int offset, int length) {
        int best = 0;
        for (int i = 1; i < length; i++) {
            if (scores[offset + i] > scores[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Ids by decreasing probability, equals by increasing id. Sorted as packed primitives (the
     * float bits of a non-negative probability order like the value), as fast as a vocabulary of
     * 50,000 needs at every position; the ranking is at float precision, as Hugging Face's.
     */
    static int[] descendingOrder(double[] probs) {
        long[] keys = new long[probs.length];
        for (int i = 0; i < probs.length; i++) {
            long bits = Float.floatToIntBits((float) probs[i]);
            keys[i] = (~bits << 32) | i; // ascending keys = descending probability, then id
        }
        Arrays.sort(keys);
        int[] order = new int[probs.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }
}
