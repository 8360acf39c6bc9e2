package dev.lmspark.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.data.random.Seeds;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Temperature, top-k and top-p (Hugging Face's semantics) on hand-made distributions. */
class TokenSamplerTest {

    @Test
    void softmaxDividesByTheTemperature() {
        float[] scores = {0, (float) Math.log(3), Float.NEGATIVE_INFINITY};
        assertArrayEquals(
                new double[] {0.25, 0.75, 0}, TokenSampler.softmax(scores, 0, 3, 1), 1e-7);
        // At temperature 2 the odds 3:1 become √3:1.
        double r = Math.sqrt(3);
        assertArrayEquals(
                new double[] {1 / (1 + r), r / (1 + r), 0},
                TokenSampler.softmax(scores, 0, 3, 2),
                1e-7);
        assertEquals(0.75, TokenSampler.probability(scores, 0, 3, 1), 1e-7);
        // An offset reads a slice of a longer array (one position among many).
        float[] two = {9, 9, 0, (float) Math.log(3)};
        assertArrayEquals(new double[] {0.25, 0.75}, TokenSampler.softmax(two, 2, 2, 1), 1e-7);
    }

    @Test
    void topKKeepsTheKMostLikelyAndTheirEquals() {
        double[] p = {0.1, 0.4, 0.2, 0.3};
        TokenSampler.keepTopK(p, 2);
        assertArrayEquals(new double[] {0, 0.4, 0, 0.3}, p);
        double[] tied = {0.3, 0.2, 0.3, 0.2};
        TokenSampler.keepTopK(tied, 3);
        // The third largest is 0.2, shared by ids 1 and 3: both stay, as Hugging Face keeps them.
        assertArrayEquals(new double[] {0.3, 0.2, 0.3, 0.2}, tied);
        double[] all = {0.5, 0.5};
        TokenSampler.keepTopK(all, 5);
        assertArrayEquals(new double[] {0.5, 0.5}, all);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        double[] p = {0.1, 0.5, 0.1, 0.3};
        TokenSampler.keepTopP(p, 0.8);
        assertArrayEquals(new double[] {0, 0.5, 0, 0.3}, p, "0.5 + 0.3 reaches 0.8");
        double[] q = {0.1, 0.5, 0.1, 0.3};
        TokenSampler.keepTopP(q, 0.81);
        assertArrayEquals(
                new double[] {0.1, 0.5, 0, 0.3}, q, "a third token; equals rank by lower id");
        double[] one = {0.1, 0.5, 0.1, 0.3};
        TokenSampler.keepTopP(one, 0.01);
        assertArrayEquals(new double[] {0, 0.5, 0, 0}, one, "the most likely is always kept");
        double[] unnormalized = {1, 5, 1, 3}; // after top-k: p applies to what is left
        TokenSampler.keepTopP(unnormalized, 0.8);
        assertArrayEquals(new double[] {0, 5, 0, 3}, unnormalized);
    }

    @Test
    void warpersApplyInHuggingFaceOrder() {
        float[] scores = new float[5];
        double[] probs = {0.05, 0.4, 0.25, 0.2, 0.1};
        for (int i = 0; i < 5; i++) {
            scores[i] = (float) Math.log(probs[i]);
        }
        // top-k 3 leaves {0.4, 0.25, 0.2} (sum 0.85); top-p 0.7 of that is 0.595: 0.4 + 0.25.
        double[] d = new TokenSampler(1, 3, 0.7).distribution(scores, 0, 5);
        assertEquals(0, d[0]);
        assertEquals(0.4, d[1], 1e-6);
        assertEquals(0.25, d[2], 1e-6);
        assertEquals(0, d[3]);
        assertEquals(0, d[4]);
    }

    @Test
    void drawsFollowTheDistributionAndRepeatForTheSameStream() {
        double[] w = {0, 0.2, 0, 0.8};
        int[] counts = new int[4];
        for (int i = 0; i < 10_000; i++) {
            counts[TokenSampler.draw(w, Seeds.random(7, i))]++;
        }
        assertEquals(0, counts[0] + counts[2], "zero weight is never drawn");
        assertEquals(0.2, counts[1] / 10_000.0, 0.02);
        float[] scores = {1, 2, 3, 0.5f};
        TokenSampler s = new TokenSampler(1.3, 0, 0.9);
        assertEquals(
                s.sample(scores, 0, 4, Seeds.random(3, 1, 2)),
                s.sample(scores, 0, 4, Seeds.random(3, 1, 2)));
    }

    @Test
    void greedyTakesTheFirstLargest() {
        float[] scores = {1, 4, 4, 2};
        assertEquals(1, TokenSampler.GREEDY.sample(scores, 0, 4, new SplittableRandom(1)));
        assertArrayEquals(
                new double[] {0, 1, 0, 0}, TokenSampler.GREEDY.distribution(scores, 0, 4));
        assertTrue(TokenSampler.GREEDY.isGreedy());
    }

    @Test
    void badOptionsAreNamed() {
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> new TokenSampler(-1, 0, 1))
                        .getMessage()
                        .contains("temperature -1.0"));
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, -2, 1))
                        .getMessage()
                        .contains("top-k -2"));
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, 0, 0))
                        .getMessage()
                        .contains("top-p 0.0"));
        assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, 0, 1.5));
        assertThrows(IllegalArgumentException.class, () -> new TokenSampler(Double.NaN, 0, 1));
    }
}
