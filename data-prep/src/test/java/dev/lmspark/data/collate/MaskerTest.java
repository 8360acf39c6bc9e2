package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.data.random.Seeds;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MaskerTest {

    // WordPiece-like toy vocabulary: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, ids 5..29 ordinary.
    private static final int PAD = 0;
    private static final int CLS = 2;
    private static final int SEP = 3;
    private static final int MASK = 4;
    private static final int VOCAB = 30;

    private static BitSet specials() {
        BitSet s = new BitSet();
        s.set(0, 5);
        return s;
    }

    private static MaskingConfig config(
            MaskingConfig.Strategy strategy,
            double p,
            double mask,
            double random,
            int maxPredictions,
            boolean wholeWord) {
        return new MaskingConfig(strategy, p, mask, random, maxPredictions, wholeWord);
    }

    private static Masker masker(MaskingConfig c) {
        return new Masker(c, MASK, VOCAB, specials());
    }

    private static boolean[] specialFlags(int[] ids) {
        boolean[] b = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) {
            b[i] = ids[i] < 5;
        }
        return b;
    }

    private static boolean[] allStarts(int n) {
        boolean[] b = new boolean[n];
        Arrays.fill(b, true);
        return b;
    }

    /** [CLS] x x ... [SEP] with ordinary ids drawn from the generator, {@code length} in all. */
    private static int[] sequence(int length, SplittableRandom r) {
        int[] ids = new int[length];
        ids[0] = CLS;
        for (int i = 1; i < length - 1; i++) {
            ids[i] = 5 + r.nextInt(VOCAB - 5);
        }
        ids[length - 1] = SEP;
        return ids;
    }

    // ---------------------------------------------------------------- exact small cases

    @Test
    void probabilityOneMaskEverythingGivesExactArrays() {
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 1.0, 1.0, 0.0, 100, false));
        int[] ids = {CLS, 7, 8, 9, SEP, 10, 11, SEP, PAD, PAD};
        Masker.Result r =
                m.mask(ids, specialFlags(ids), allStarts(ids.length), new SplittableRandom(1));
        assertArrayEquals(
                new int[] {CLS, MASK, MASK, MASK, SEP, MASK, MASK, SEP, PAD, PAD}, r.inputIds());
        assertArrayEquals(new int[] {-100, 7, 8, 9, -100, 10, 11, -100, -100, -100}, r.labels());
        assertEquals(5, r.masked());
        assertEquals(0, r.randomized());
        assertEquals(0, r.unchanged());
        assertEquals(5, r.predicted());
        // the input array is not modified
        assertArrayEquals(new int[] {CLS, 7, 8, 9, SEP, 10, 11, SEP, PAD, PAD}, ids);
    }

    @Test
    void probabilityOneKeepEverythingLeavesInputsAndLabelsAll() {
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 1.0, 0.0, 0.0, 100, false));
        int[] ids = {CLS, 7, 8, SEP};
        Masker.Result r = m.mask(ids, specialFlags(ids), allStarts(4), new SplittableRandom(2));
        assertArrayEquals(new int[] {CLS, 7, 8, SEP}, r.inputIds());
        assertArrayEquals(new int[] {-100, 7, 8, -100}, r.labels());
        assertEquals(0, r.masked());
        assertEquals(0, r.randomized());
        assertEquals(2, r.unchanged());
    }

    @Test
    void onlySpecialTokensNothingIsChosen() {
        for (MaskingConfig.Strategy s : MaskingConfig.Strategy.values()) {
            Masker m = masker(config(s, 0.5, 0.8, 0.1, 20, false));
            int[] ids = {CLS, SEP, PAD, PAD};
            Masker.Result r = m.mask(ids, specialFlags(ids), allStarts(4), new SplittableRandom(3));
            assertArrayEquals(ids, r.inputIds());
            assertArrayEquals(new int[] {-100, -100, -100, -100}, r.labels());
            assertEquals(0, r.predicted());
        }
    }

    @Test
    void specialPositionsNeverChosenAndLabelsExactlyAtChosen() {
        for (MaskingConfig.Strategy strategy : MaskingConfig.Strategy.values()) {
            for (boolean wholeWord : new boolean[] {false, true}) {
                Masker m = masker(config(strategy, 0.4, 0.8, 0.1, 8, wholeWord));
                for (long seed = 0; seed < 300; seed++) {
                    SplittableRandom data = new SplittableRandom(1000 + seed);
                    int[] ids = {CLS, 5, 6, 7, 8, SEP, 9, 10, 11, 12, 13, SEP, PAD, PAD};
                    for (int i = 0; i < ids.length; i++) {
                        if (ids[i] >= 5) {
                            ids[i] = 5 + data.nextInt(VOCAB - 5);
                        }
                    }
                    boolean[] special = specialFlags(ids);
                    boolean[] starts = new boolean[ids.length];
                    for (int i = 0; i < ids.length; i++) {
                        starts[i] = special[i] || data.nextBoolean();
                    }
                    boolean[] chosen = m.choose(special, starts, new SplittableRandom(seed));
                    Masker.Result r = m.mask(ids, special, starts, new SplittableRandom(seed));
                    int predicted = 0;
                    for (int i = 0; i < ids.length; i++) {
                        if (special[i]) {
                            assertFalse(chosen[i], "special position " + i + " chosen");
                            assertEquals(ids[i], r.inputIds()[i]);
                        }
                        if (chosen[i]) {
                            predicted++;
                            assertEquals(ids[i], r.labels()[i]);
                            int in = r.inputIds()[i];
                            assertTrue(in == MASK || in >= 5, "replacement " + in);
                        } else {
                            assertEquals(Masker.IGNORE, r.labels()[i]);
                            assertEquals(ids[i], r.inputIds()[i], "unchosen position changed");
                        }
                    }
                    assertEquals(predicted, r.predicted());
                    assertEquals(predicted, r.masked() + r.randomized() + r.unchanged());
                    int masks = 0;
                    for (int i = 0; i < ids.length; i++) {
                        if (chosen[i] && r.inputIds()[i] == MASK) {
                            masks++;
                        }
                    }
                    assertEquals(masks, r.masked());
                }
            }
        }
    }

    @Test
    void randomReplacementsAreNeverSpecialAndCoverTheOrdinaryVocabulary() {
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 1.0, 0.0, 1.0, 100, false));
        int[] counts = new int[VOCAB];
        for (long seed = 0; seed < 2000; seed++) {
            int[] ids = sequence(20, new SplittableRandom(seed));
            Masker.Result r = m.mask(ids, specialFlags(ids), allStarts(20), Seeds.random(seed, 7));
            assertEquals(18, r.randomized());
            assertEquals(0, r.masked());
            assertEquals(0, r.unchanged());
            assertEquals(CLS, r.inputIds()[0]);
            assertEquals(SEP, r.inputIds()[19]);
            for (int i = 1; i < 19; i++) {
                int id = r.inputIds()[i];
                assertTrue(id >= 5 && id < VOCAB, "random replacement " + id + " is special");
                counts[id]++;
            }
        }
        // 36,000 draws over 25 ids: each about 1440; all present, none far off.
        for (int id = 0; id < 5; id++) {
            assertEquals(0, counts[id]);
        }
        for (int id = 5; id < VOCAB; id++) {
            assertTrue(counts[id] > 1200 && counts[id] < 1700, "id " + id + ": " + counts[id]);
        }
    }

    @Test
    void specialIdsInTheMiddleOfTheVocabularyAreNeverDrawn() {
        BitSet special = new BitSet();
        special.set(0, 5);
        special.set(17);
        special.set(29);
        Masker m =
                new Masker(
                        config(MaskingConfig.Strategy.BERNOULLI, 1.0, 0.0, 1.0, 100, false),
                        MASK,
                        VOCAB,
                        special);
        Set<Integer> seen = new HashSet<>();
        for (long seed = 0; seed < 500; seed++) {
            int[] ids = sequence(30, new SplittableRandom(seed));
            Masker.Result r = m.mask(ids, specialFlags(ids), allStarts(30), Seeds.random(seed));
            for (int i = 1; i < 29; i++) {
                seen.add(r.inputIds()[i]);
            }
        }
        Set<Integer> expected = new HashSet<>();
        for (int id = 5; id < VOCAB; id++) {
            if (id != 17 && id != 29) {
                expected.add(id);
            }
        }
        assertEquals(expected, seen);
    }

    @Test
    void vocabularyOfOnlySpecialsIsRefused() {
        BitSet all = new BitSet();
        all.set(0, 5);
        assertThrows(
                IllegalArgumentException.class,
                () -> new Masker(MaskingConfig.defaults(20), MASK, 5, all));
    }

    // ---------------------------------------------------------------- statistics

    @Test
    void bernoulliRatesAndSplitOverMillionsOfTokens() {
        Masker m = masker(MaskingConfig.defaults(20));
        int length = 128;
        int sequences = 16_000; // 126 candidates each: 2,016,000 per seed
        for (long seed : new long[] {1, 42, 20240601}) {
            long candidates = 0;
            long predicted = 0;
            long masked = 0;
            long randomized = 0;
            long unchanged = 0;
            long maskIds = 0;
            Set<Integer> perSequence = new HashSet<>();
            SplittableRandom data = new SplittableRandom(seed * 31 + 7);
            int[] ids = sequence(length, data);
            boolean[] special = specialFlags(ids);
            boolean[] starts = allStarts(length);
            for (int s = 0; s < sequences; s++) {
                for (int i = 1; i < length - 1; i++) {
                    ids[i] = 5 + data.nextInt(VOCAB - 5);
                }
                Masker.Result r = m.mask(ids, special, starts, Seeds.random(seed, s));
                candidates += length - 2;
                int p = 0;
                for (int i = 0; i < length; i++) {
                    if (r.labels()[i] != Masker.IGNORE) {
                        p++;
                        if (r.inputIds()[i] == MASK) {
                            maskIds++;
                        }
                    }
                }
                assertEquals(p, r.predicted());
                perSequence.add(p);
                predicted += p;
                masked += r.masked();
                randomized += r.randomized();
                unchanged += r.unchanged();
            }
            assertTrue(candidates >= 1_000_000);
            assertEquals(masked, maskIds);
            double rate = (double) predicted / candidates;
            assertEquals(0.15, rate, 0.003, "seed " + seed + " rate");
            assertEquals(0.80, (double) masked / predicted, 0.003, "seed " + seed + " [MASK]");
            assertEquals(0.10, (double) randomized / predicted, 0.003, "seed " + seed + " random");
            assertEquals(0.10, (double) unchanged / predicted, 0.003, "seed " + seed + " same");
            assertTrue(perSequence.size() > 1, "Bernoulli counts never vary: " + perSequence);
            // 126 candidates at 15%: mean 18.9, sd 4; the counts spread widely.
            assertTrue(perSequence.size() > 10, "too few distinct counts: " + perSequence);
        }
    }

    @Test
    void maskStatsSumResults() {
        Masker m = masker(MaskingConfig.defaults(20));
        MaskStats stats = new MaskStats();
        long predicted = 0;
        for (int s = 0; s < 50; s++) {
            int[] ids = sequence(40, new SplittableRandom(s));
            Masker.Result r = m.mask(ids, specialFlags(ids), allStarts(40), Seeds.random(9, s));
            stats.add(r, 38);
            predicted += r.predicted();
        }
        assertEquals(50 * 38, stats.candidates);
        assertEquals(predicted, stats.predicted());
        MaskStats total = new MaskStats();
        total.add(stats);
        total.add(stats);
        assertEquals(2 * predicted, total.predicted());
        assertEquals(2 * 50 * 38, total.candidates);
    }

    @Test
    void fixedCountPredictsExactlyTheTargetEveryTime() {
        int maxPredictions = 20;
        Masker m =
                masker(
                        config(
                                MaskingConfig.Strategy.FIXED_COUNT,
                                0.15,
                                0.8,
                                0.1,
                                maxPredictions,
                                false));
        // n non-special tokens -> expected count, worked out by hand:
        // min(20, max(1, rint(n * 0.15)))
        int[][] cases = {
            {1, 1}, // 0.15 -> 0 -> 1
            {3, 1}, // 0.45 -> 0 -> 1
            {4, 1}, // 0.6 -> 1
            {20, 3}, // 3.0
            {40, 6}, // 6.0
            {126, 19}, // 18.9 -> 19
            {140, 20}, // 21 -> capped at 20
            {300, 20}, // 45 -> capped at 20
        };
        long total = 0;
        for (int[] c : cases) {
            int n = c[0];
            int expected = c[1];
            for (long seed = 0; seed < 400; seed++) {
                int[] ids = sequence(n + 2, new SplittableRandom(seed));
                Masker.Result r =
                        m.mask(ids, specialFlags(ids), allStarts(n + 2), Seeds.random(seed, n));
                int labelled = 0;
                for (int label : r.labels()) {
                    labelled += label != Masker.IGNORE ? 1 : 0;
                }
                assertEquals(expected, r.predicted(), "n=" + n + " seed=" + seed);
                assertEquals(expected, labelled, "n=" + n + " seed=" + seed);
                assertEquals(Masker.IGNORE, r.labels()[0]);
                assertEquals(Masker.IGNORE, r.labels()[n + 1]);
                total += r.masked();
            }
        }
        assertTrue(total > 0);
    }

    @Test
    void fixedCountRoundsHalfToEven() {
        // 10 * 0.25 = 2.5 -> 2 and 14 * 0.25 = 3.5 -> 4 (Python's round, Math.rint)
        Masker m = masker(config(MaskingConfig.Strategy.FIXED_COUNT, 0.25, 0.8, 0.1, 100, false));
        for (long seed = 0; seed < 50; seed++) {
            int[] ten = sequence(12, new SplittableRandom(seed));
            assertEquals(
                    2,
                    m.mask(ten, specialFlags(ten), allStarts(12), new SplittableRandom(seed))
                            .predicted());
            int[] fourteen = sequence(16, new SplittableRandom(seed));
            assertEquals(
                    4,
                    m.mask(
                                    fourteen,
                                    specialFlags(fourteen),
                                    allStarts(16),
                                    new SplittableRandom(seed))
                            .predicted());
        }
    }

    @Test
    void fixedCountStatisticsOfTheSplitAndPositions() {
        Masker m = masker(config(MaskingConfig.Strategy.FIXED_COUNT, 0.15, 0.8, 0.1, 20, false));
        int length = 128;
        long predicted = 0;
        long masked = 0;
        long randomized = 0;
        long[] perPosition = new long[length];
        int sequences = 20_000;
        for (int s = 0; s < sequences; s++) {
            int[] ids = sequence(length, new SplittableRandom(s));
            Masker.Result r =
                    m.mask(ids, specialFlags(ids), allStarts(length), Seeds.random(77, s));
            assertEquals(19, r.predicted());
            predicted += r.predicted();
            masked += r.masked();
            randomized += r.randomized();
            for (int i = 0; i < length; i++) {
                if (r.labels()[i] != Masker.IGNORE) {
                    perPosition[i]++;
                }
            }
        }
        assertEquals(0.80, (double) masked / predicted, 0.005);
        assertEquals(0.10, (double) randomized / predicted, 0.005);
        assertEquals(0, perPosition[0]);
        assertEquals(0, perPosition[length - 1]);
        // every candidate position is chosen with probability 19/126 (about 3016 of 20,000)
        for (int i = 1; i < length - 1; i++) {
            assertTrue(
                    perPosition[i] > 2600 && perPosition[i] < 3450,
                    "position " + i + ": " + perPosition[i]);
        }
    }

    // ---------------------------------------------------------------- whole words

    /** Word starts of: [CLS] w(3) w(1) w(2) w(4) w(1) [SEP] w(2) w(1) [SEP]. */
    private static final boolean[] WW_STARTS = {
        true, // CLS
        true,
        false,
        false, // word of 3
        true, // word of 1
        true,
        false, // word of 2
        true,
        false,
        false,
        false, // word of 4
        true, // word of 1
        true, // SEP
        true,
        false, // word of 2
        true, // word of 1
        true // SEP
    };

    private static final int[] WW_IDS = {
        CLS, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, SEP, 21, 22, 23, SEP
    };

    /** Word index of each position (-1 at specials), from WW_STARTS by hand. */
    private static final int[] WW_WORD = {-1, 0, 0, 0, 1, 2, 2, 3, 3, 3, 3, 4, -1, 5, 5, 6, -1};

    private static void assertWholeWords(boolean[] chosen) {
        boolean[] wordChosen = new boolean[7];
        boolean[] wordSeen = new boolean[7];
        for (int i = 0; i < chosen.length; i++) {
            int w = WW_WORD[i];
            if (w < 0) {
                assertFalse(chosen[i], "special " + i + " chosen");
                continue;
            }
            if (!wordSeen[w]) {
                wordSeen[w] = true;
                wordChosen[w] = chosen[i];
            } else {
                assertEquals(wordChosen[w], chosen[i], "word " + w + " split at position " + i);
            }
        }
    }

    @Test
    void wholeWordBernoulliChoosesWordsTogether() {
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 0.3, 0.8, 0.1, 100, true));
        boolean[] special = specialFlags(WW_IDS);
        int[] wordHits = new int[7];
        for (long seed = 0; seed < 4000; seed++) {
            boolean[] chosen = m.choose(special, WW_STARTS, Seeds.random(seed));
            assertWholeWords(chosen);
            Masker.Result r = m.mask(WW_IDS, special, WW_STARTS, Seeds.random(seed));
            for (int i = 0; i < WW_IDS.length; i++) {
                assertEquals(chosen[i] ? WW_IDS[i] : Masker.IGNORE, r.labels()[i]);
            }
            for (int i = 0; i < WW_IDS.length; i++) {
                if (WW_WORD[i] >= 0 && (i == 0 || WW_WORD[i - 1] != WW_WORD[i]) && chosen[i]) {
                    wordHits[WW_WORD[i]]++;
                }
            }
        }
        // each word, whatever its length, is chosen with probability 0.3 (about 1200 of 4000)
        for (int w = 0; w < 7; w++) {
            assertTrue(wordHits[w] > 1050 && wordHits[w] < 1350, "word " + w + ": " + wordHits[w]);
        }
    }

    @Test
    void tokenLevelDoesNotKeepWordsTogether() {
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 0.5, 0.8, 0.1, 100, false));
        boolean[] special = specialFlags(WW_IDS);
        boolean split = false;
        for (long seed = 0; seed < 200 && !split; seed++) {
            boolean[] chosen = m.choose(special, WW_STARTS, Seeds.random(seed));
            split = chosen[7] != chosen[8] || chosen[1] != chosen[2];
        }
        assertTrue(split);
    }

    @Test
    void wholeWordFixedCountNeverExceedsTheTarget() {
        // 14 candidates; at 0.5 the target is 7, at 0.3 it is rint(4.2) = 4, capped to 3 below.
        int[][] cases = {{50, 7}, {30, 4}, {15, 2}};
        for (int[] c : cases) {
            double p = c[0] / 100.0;
            int target = c[1];
            for (int maxPredictions : new int[] {100, 3}) {
                int cap = Math.min(maxPredictions, target);
                Masker m =
                        masker(
                                config(
                                        MaskingConfig.Strategy.FIXED_COUNT,
                                        p,
                                        0.8,
                                        0.1,
                                        maxPredictions,
                                        true));
                boolean[] special = specialFlags(WW_IDS);
                Set<Integer> counts = new HashSet<>();
                for (long seed = 0; seed < 2000; seed++) {
                    boolean[] chosen = m.choose(special, WW_STARTS, Seeds.random(seed, c[0]));
                    assertWholeWords(chosen);
                    int n = 0;
                    for (boolean b : chosen) {
                        n += b ? 1 : 0;
                    }
                    assertTrue(n <= cap, "p=" + p + " cap=" + cap + ": " + n);
                    assertTrue(n >= 1);
                    counts.add(n);
                }
                // words of one token exist, so the target is always reachable... or nearly:
                // at least it is reached for some shuffles
                assertTrue(counts.contains(cap), "p=" + p + " never reached " + cap + counts);
            }
        }
    }

    @Test
    void wholeWordSubTokenAfterSpecialStartsItsOwnWord() {
        // [CLS] x(non-start) y(start) [SEP]: x cannot belong to a word across the [CLS]
        Masker m = masker(config(MaskingConfig.Strategy.BERNOULLI, 0.5, 0.8, 0.1, 100, true));
        int[] ids = {CLS, 10, 11, SEP};
        boolean[] starts = {true, false, true, true};
        boolean differ = false;
        for (long seed = 0; seed < 200; seed++) {
            boolean[] chosen = m.choose(specialFlags(ids), starts, Seeds.random(seed));
            assertFalse(chosen[0]);
            assertFalse(chosen[3]);
            differ |= chosen[1] != chosen[2];
        }
        assertTrue(differ, "10 and 11 are separate words and must be chosen independently");
    }

    @Test
    void sameGeneratorSameResult() {
        Masker m = masker(MaskingConfig.defaults(20));
        int[] ids = sequence(64, new SplittableRandom(5));
        Masker.Result a = m.mask(ids, specialFlags(ids), allStarts(64), Seeds.random(1, 2, 3));
        Masker.Result b = m.mask(ids, specialFlags(ids), allStarts(64), Seeds.random(1, 2, 3));
        assertArrayEquals(a.inputIds(), b.inputIds());
        assertArrayEquals(a.labels(), b.labels());
        Masker.Result c = m.mask(ids, specialFlags(ids), allStarts(64), Seeds.random(1, 2, 4));
        assertNotEquals(Arrays.toString(a.labels()), Arrays.toString(c.labels()));
    }

    @Test
    void configValidationNamesTheFlag() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> config(MaskingConfig.Strategy.BERNOULLI, 1.5, 0.8, 0.1, 20, false));
        assertTrue(e.getMessage().contains("--mlm-probability"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> config(MaskingConfig.Strategy.BERNOULLI, 0.15, 0.9, 0.2, 20, false));
        assertTrue(e.getMessage().contains("--random-replace-prob"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> config(MaskingConfig.Strategy.FIXED_COUNT, 0.15, 0.8, 0.1, 0, false));
        assertTrue(e.getMessage().contains("--max-predictions"), e.getMessage());
        assertEquals(
                MaskingConfig.Strategy.FIXED_COUNT,
                MaskingConfig.Strategy.fromCliName("fixed-count"));
        assertEquals("bernoulli", MaskingConfig.Strategy.BERNOULLI.cliName());
    }
}
