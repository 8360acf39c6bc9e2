package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.data.random.Seeds;
import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Seq2SeqRowsTest {

    // WordPiece: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4
    private static final int PAD = 0;
    private static final int CLS = 2;
    private static final int SEP = 3;
    private static final int MASK = 4;

    private static Seq2SeqRows rows(int maxLength) {
        BitSet specials = new BitSet();
        specials.set(0, 5);
        return new Seq2SeqRows(
                new ExampleAssembler(maxLength, false, PAD, specials, CLS, SEP, null),
                new ExampleAssembler(maxLength, true, PAD, specials, CLS, SEP, null),
                CLS,
                SEP,
                MASK);
    }

    private static int[] range(int from, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = from + i;
        }
        return out;
    }

    /**
     * Checks a train row against the unmasked sequence {@code original} (before padding): only
     * positions in [targetFrom, targetTo) masked, always to [MASK], at least one, labels only
     * there.
     */
    private static int assertTrainRow(
            Example e, int[] original, int targetFrom, int targetTo, int maxLength) {
        int masked = 0;
        for (int i = 0; i < maxLength; i++) {
            if (i >= original.length) {
                assertEquals(PAD, e.inputIds()[i]);
                assertEquals(-100, e.labels()[i]);
                assertEquals(0, e.attentionMask()[i]);
                assertEquals(1, e.specialTokensMask()[i]);
                continue;
            }
            assertEquals(1, e.attentionMask()[i]);
            boolean special = original[i] == CLS || original[i] == SEP;
            assertEquals(special ? 1 : 0, e.specialTokensMask()[i], "special mask at " + i);
            if (e.labels()[i] != -100) {
                assertTrue(i >= targetFrom && i < targetTo, "label outside the target at " + i);
                assertEquals(original[i], e.labels()[i]);
                assertEquals(MASK, e.inputIds()[i]);
                masked++;
            } else {
                assertEquals(original[i], e.inputIds()[i], "unmasked token changed at " + i);
            }
        }
        assertArrayEquals(new byte[maxLength], e.tokenTypeIds());
        assertNull(e.wordStart());
        assertNull(e.nextSentenceLabel());
        assertNull(e.targetIds());
        assertTrue(masked >= 1, "nothing masked");
        return masked;
    }

    @Test
    void trainRowsMaskOnlyTheTarget() {
        Seq2SeqRows r = rows(12);
        int[] original = {CLS, 10, 11, 12, SEP, 20, 21, 22, SEP};
        boolean all = false;
        boolean one = false;
        for (long seed = 0; seed < 500; seed++) {
            Seq2SeqRows.Row row =
                    r.train(new int[] {10, 11, 12}, new int[] {20, 21, 22}, 9L, Seeds.random(seed));
            assertFalse(row.truncated());
            Example e = row.example();
            assertEquals(9L, e.docId());
            int masked = assertTrainRow(e, original, 5, 8, 12);
            all |= masked == 3;
            one |= masked == 1;
        }
        assertTrue(all && one);
    }

    @Test
    void trainRowOfAOneTokenTargetAlwaysMasksIt() {
        Seq2SeqRows r = rows(6);
        for (long seed = 0; seed < 100; seed++) {
            Example e = r.train(new int[] {10}, new int[] {20}, 0L, Seeds.random(seed)).example();
            assertArrayEquals(new int[] {CLS, 10, SEP, MASK, SEP, PAD}, e.inputIds());
            assertArrayEquals(new int[] {-100, -100, -100, 20, -100, -100}, e.labels());
            assertArrayEquals(new byte[] {1, 1, 1, 1, 1, 0}, e.attentionMask());
            assertArrayEquals(new byte[] {1, 0, 1, 0, 1, 1}, e.specialTokensMask());
        }
    }

    @Test
    void trainMaskRateIsDrawnPerRowUniformly() {
        int n = 100;
        Seq2SeqRows r = rows(n + 4);
        int rows = 4000;
        int[] bins = new int[10];
        double sum = 0;
        for (long seed = 0; seed < rows; seed++) {
            Example e = r.train(new int[] {10}, range(100, n), 0L, Seeds.random(seed, 3)).example();
            int masked = 0;
            for (int label : e.labels()) {
                masked += label != -100 ? 1 : 0;
            }
            double rate = masked / (double) n;
            sum += rate;
            bins[Math.min(9, (int) (rate * 10))]++;
        }
        assertEquals(0.5, sum / rows, 0.02);
        // roughly uniform: about 400 rows in each tenth
        for (int b = 0; b < 10; b++) {
            assertTrue(bins[b] > 280 && bins[b] < 520, "bin " + b + ": " + bins[b]);
        }
    }

    @Test
    void trainTruncationCutsThePrefixStartThenTheTargetEnd() {
        // window 10: 7 tokens for prefix and target
        Seq2SeqRows r = rows(10);
        SplittableRandom random = new SplittableRandom(1);

        // fits exactly
        Seq2SeqRows.Row row = r.train(range(10, 4), range(20, 3), 0L, random);
        assertFalse(row.truncated());
        assertTrainRow(
                row.example(), new int[] {CLS, 10, 11, 12, 13, SEP, 20, 21, 22, SEP}, 6, 9, 10);

        // one too many: the first prefix token goes
        row = r.train(range(10, 5), range(20, 3), 0L, random);
        assertTrue(row.truncated());
        assertTrainRow(
                row.example(), new int[] {CLS, 11, 12, 13, 14, SEP, 20, 21, 22, SEP}, 6, 9, 10);

        // long prefix, short target: the prefix keeps its last 4 tokens, the target stays whole
        row = r.train(range(10, 10), range(20, 3), 0L, random);
        assertTrue(row.truncated());
        assertTrainRow(
                row.example(), new int[] {CLS, 16, 17, 18, 19, SEP, 20, 21, 22, SEP}, 6, 9, 10);

        // both long: the prefix goes down to half (7 / 2 = 3 tokens), the target loses its end
        row = r.train(range(10, 10), range(20, 10), 0L, random);
        assertTrue(row.truncated());
        assertTrainRow(
                row.example(), new int[] {CLS, 17, 18, 19, SEP, 20, 21, 22, 23, SEP}, 5, 9, 10);

        // short prefix, long target: only the target is cut
        row = r.train(range(10, 2), range(20, 10), 0L, random);
        assertTrue(row.truncated());
        assertTrainRow(
                row.example(), new int[] {CLS, 10, 11, SEP, 20, 21, 22, 23, 24, SEP}, 4, 9, 10);
    }

    @Test
    void predictRowsAreLeftPaddedWithTheReferenceRightPadded() {
        Seq2SeqRows r = rows(8);
        Seq2SeqRows.Row row = r.predict(new int[] {10, 11, 12}, new int[] {20, 21}, 5L);
        assertFalse(row.truncated());
        Example e = row.example();
        assertArrayEquals(new int[] {PAD, PAD, PAD, CLS, 10, 11, 12, SEP}, e.inputIds());
        assertArrayEquals(new byte[] {0, 0, 0, 1, 1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new int[] {-100, -100, -100, -100, -100, -100, -100, -100}, e.labels());
        assertArrayEquals(new byte[] {1, 1, 1, 1, 0, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new byte[8], e.tokenTypeIds());
        assertArrayEquals(new int[] {20, 21, SEP, PAD, PAD, PAD, PAD, PAD}, e.targetIds());
        assertEquals(5L, e.docId());

        // every prefix ends at the last position
        for (int n = 0; n <= 6; n++) {
            Example p = r.predict(range(10, n), new int[] {20}, 0L).example();
            assertEquals(SEP, p.inputIds()[7]);
            assertEquals(CLS, p.inputIds()[6 - n]);
            assertEquals(n + 2, p.realTokens());
        }
    }

    @Test
    void predictTruncation() {
        Seq2SeqRows r = rows(8);
        // prefix of 8 keeps its last 6
        Seq2SeqRows.Row row = r.predict(range(10, 8), new int[] {20}, 0L);
        assertTrue(row.truncated());
        assertArrayEquals(new int[] {CLS, 12, 13, 14, 15, 16, 17, SEP}, row.example().inputIds());
        assertArrayEquals(
                new int[] {20, SEP, PAD, PAD, PAD, PAD, PAD, PAD}, row.example().targetIds());

        // a prefix of exactly 6 fits
        row = r.predict(range(10, 6), new int[] {20}, 0L);
        assertFalse(row.truncated());
        assertArrayEquals(new int[] {CLS, 10, 11, 12, 13, 14, 15, SEP}, row.example().inputIds());

        // target + [SEP] of exactly 8 fits
        row = r.predict(new int[] {10}, range(20, 7), 0L);
        assertFalse(row.truncated());
        assertArrayEquals(new int[] {20, 21, 22, 23, 24, 25, 26, SEP}, row.example().targetIds());

        // one more loses the end (the [SEP])
        row = r.predict(new int[] {10}, range(20, 8), 0L);
        assertTrue(row.truncated());
        assertArrayEquals(new int[] {20, 21, 22, 23, 24, 25, 26, 27}, row.example().targetIds());
    }

    @Test
    void tooShortWindowIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rows(3));
        assertTrue(e.getMessage().contains("3"), e.getMessage());
        rows(4);
    }
}
