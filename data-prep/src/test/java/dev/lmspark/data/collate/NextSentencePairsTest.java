package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.data.random.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NextSentencePairsTest {

    /** Sentence k of length n: ids 100k, 100k+1, ... with a word start at every other token. */
    private static Segment sentence(int k, int n) {
        int[] ids = new int[n];
        boolean[] starts = new boolean[n];
        for (int j = 0; j < n; j++) {
            ids[j] = 100 * k + j;
            starts[j] = j % 2 == 0;
        }
        return new Segment(ids, starts);
    }

    private static List<Segment> document(int... lengths) {
        List<Segment> doc = new ArrayList<>();
        for (int k = 0; k < lengths.length; k++) {
            doc.add(sentence(k + 1, lengths[k]));
        }
        return doc;
    }

    private static Segment concat(List<Segment> doc, int from, int to) {
        return Segment.concat(doc.subList(from, to));
    }

    /** The index of the sentence a segment starts with (sentence k has first id 100k). */
    private static int sentenceAt(List<Segment> doc, Segment s) {
        for (int k = 0; k < doc.size(); k++) {
            if (doc.get(k).ids()[0] == s.ids()[0]) {
                return k;
            }
        }
        throw new AssertionError("segment " + s + " starts no sentence");
    }

    /**
     * The end (exclusive) of the run of consecutive sentences from {@code from} making {@code s}.
     */
    private static int runEnd(List<Segment> doc, int from, Segment s) {
        for (int to = from + 1; to <= doc.size(); to++) {
            if (concat(doc, from, to).equals(s)) {
                return to;
            }
        }
        throw new AssertionError(
                "segment " + s + " is not consecutive sentences from sentence " + from);
    }

    @Test
    void constructorRefusesShortWindowsNamingTheValue() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new NextSentencePairs(4, 0.1));
        assertTrue(e.getMessage().contains("4"), e.getMessage());
        assertTrue(e.getMessage().contains("--max-length"), e.getMessage());
        new NextSentencePairs(5, 0.1);
        e = assertThrows(IllegalArgumentException.class, () -> new NextSentencePairs(128, 1.5));
        assertTrue(e.getMessage().contains("--short-seq-prob"), e.getMessage());
    }

    @Test
    void planRefusesFewerThanTwoDocumentsNamingTheValue() {
        NextSentencePairs nsp = new NextSentencePairs(32, 0.1);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> nsp.plan(document(3, 4), 0, 1, new SplittableRandom(1)));
        assertTrue(e.getMessage().contains("found 1"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> nsp.plan(document(3, 4), 0, 0, new SplittableRandom(1)));
        assertTrue(e.getMessage().contains("found 0"), e.getMessage());
    }

    @Test
    void singleSentenceChunksAreAlwaysRandomNextExactly() {
        // window 13 -> 10 tokens for A and B; every sentence reaches 10 on its own
        NextSentencePairs nsp = new NextSentencePairs(13, 0.0);
        List<Segment> doc = document(10, 12, 15);
        for (long seed = 0; seed < 100; seed++) {
            List<NextSentencePairs.Plan> plans = nsp.plan(doc, 3, 8, Seeds.random(seed));
            assertEquals(3, plans.size());
            for (int k = 0; k < 3; k++) {
                NextSentencePairs.Plan p = plans.get(k);
                assertEquals(k, p.instance());
                assertEquals(doc.get(k), p.a());
                assertNull(p.b());
                assertTrue(p.isRandomNext());
                assertNotEquals(3, p.randomRank());
                assertTrue(p.randomRank() >= 0 && p.randomRank() < 8);
                assertTrue(p.randomStart() >= 0 && p.randomStart() < 1);
                assertEquals(1, p.targetBLength()); // max(1, 10 - length)
            }
        }
    }

    @Test
    void lastSentenceAloneIsRandomNextWithTargetRemainder() {
        // window 23 -> 20 tokens; sentences of 12, 9 and 3 tokens
        NextSentencePairs nsp = new NextSentencePairs(23, 0.0);
        List<Segment> doc = document(12, 9, 3);
        int shapes = 0;
        for (long seed = 0; seed < 200; seed++) {
            List<NextSentencePairs.Plan> plans = nsp.plan(doc, 0, 2, Seeds.random(seed));
            // chunk [s0, s1] (21 >= 20) -> A = s0 (the only split point); B = s1, or s1 goes back
            NextSentencePairs.Plan first = plans.get(0);
            assertEquals(doc.get(0), first.a());
            if (first.isRandomNext()) {
                assertEquals(1, first.randomRank()); // the only other document
                assertEquals(8, first.targetBLength()); // 20 - 12
                // s1 went back: the next chunk is [s1, s2] (12 < 20, but the document ends)
                NextSentencePairs.Plan second = plans.get(1);
                assertEquals(doc.get(1), second.a());
                if (!second.isRandomNext()) {
                    assertEquals(doc.get(2), second.b());
                    assertEquals(2, plans.size());
                    shapes |= 1;
                } else {
                    assertEquals(11, second.targetBLength()); // 20 - 9
                    // s2 went back and is a chunk of one sentence: random next
                    assertEquals(3, plans.size());
                    assertEquals(doc.get(2), plans.get(2).a());
                    assertTrue(plans.get(2).isRandomNext());
                    assertEquals(17, plans.get(2).targetBLength()); // 20 - 3
                    shapes |= 2;
                }
            } else {
                assertEquals(doc.get(1), first.b());
                assertEquals(-1, first.randomRank());
                // [s2] alone: random next
                assertEquals(2, plans.size());
                NextSentencePairs.Plan last = plans.get(1);
                assertEquals(doc.get(2), last.a());
                assertTrue(last.isRandomNext());
                assertEquals(17, last.targetBLength());
                assertEquals(1, last.randomRank());
                shapes |= 4;
            }
        }
        assertEquals(7, shapes, "not every shape of plan occurred");
    }

    @Test
    void everyPlanIsConsecutiveSentencesAndRandomNextPutsTheRestBack() {
        int maxLength = 24; // 21 tokens for A and B
        int target = maxLength - 3;
        NextSentencePairs nsp = new NextSentencePairs(maxLength, 0.0);
        SplittableRandom shape = new SplittableRandom(99);
        int follows = 0;
        int randoms = 0;
        for (long seed = 0; seed < 500; seed++) {
            int sentences = 1 + shape.nextInt(12);
            int[] lengths = new int[sentences];
            for (int k = 0; k < sentences; k++) {
                lengths[k] = 1 + shape.nextInt(9);
            }
            List<Segment> doc = document(lengths);
            // empty sentences are skipped
            List<Segment> withEmpty = new ArrayList<>(doc);
            withEmpty.add(0, Segment.EMPTY);
            withEmpty.add(Segment.EMPTY);
            long rank = seed % 5;
            List<NextSentencePairs.Plan> plans =
                    nsp.plan(withEmpty, rank, 5, Seeds.random(seed, 1));
            assertTrue(!plans.isEmpty());
            int expectedStart = 0;
            for (int k = 0; k < plans.size(); k++) {
                NextSentencePairs.Plan p = plans.get(k);
                assertEquals(k, p.instance());
                int aFrom = sentenceAt(doc, p.a());
                assertEquals(expectedStart, aFrom, "plan " + k + " does not continue the document");
                int aTo = runEnd(doc, aFrom, p.a());
                if (p.isRandomNext()) {
                    randoms++;
                    assertNotEquals(rank, p.randomRank());
                    assertTrue(p.randomRank() >= 0 && p.randomRank() < 5);
                    assertTrue(p.randomStart() >= 0 && p.randomStart() < 1);
                    assertEquals(Math.max(1, target - p.a().length()), p.targetBLength());
                    expectedStart = aTo; // unused sentences go back
                } else {
                    follows++;
                    int bTo = runEnd(doc, aTo, p.b());
                    // the chunk [aFrom, bTo) is the shortest run from aFrom reaching the target,
                    // or runs to the end of the document
                    int chunkLength = p.a().length() + p.b().length();
                    assertTrue(chunkLength >= target || bTo == doc.size());
                    assertTrue(chunkLength - doc.get(bTo - 1).length() < target);
                    expectedStart = bTo;
                }
            }
            assertEquals(doc.size(), expectedStart, "the document is not used up");
        }
        assertTrue(follows > 100 && randoms > 100, follows + " / " + randoms);
    }

    @Test
    void randomRankIsUniformOverTheOtherDocuments() {
        NextSentencePairs nsp = new NextSentencePairs(8, 0.0);
        int[] counts = new int[4];
        List<Segment> doc = document(5, 5, 5, 5, 5, 5);
        for (long seed = 0; seed < 2000; seed++) {
            for (NextSentencePairs.Plan p : nsp.plan(doc, 2, 4, Seeds.random(seed))) {
                if (p.isRandomNext()) {
                    counts[(int) p.randomRank()]++;
                }
            }
        }
        assertEquals(0, counts[2]);
        int total = counts[0] + counts[1] + counts[3];
        for (int r : new int[] {0, 1, 3}) {
            assertEquals(1.0 / 3, (double) counts[r] / total, 0.03, "rank " + r);
        }
    }

    @Test
    void shortSequenceTargetsStayWithinTwoAndTheWindow() {
        NextSentencePairs nsp = new NextSentencePairs(20, 1.0);
        List<Segment> doc = document(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        boolean shorter = false;
        for (long seed = 0; seed < 300; seed++) {
            for (NextSentencePairs.Plan p : nsp.plan(doc, 0, 3, Seeds.random(seed))) {
                int chunk = p.a().length() + (p.b() == null ? 0 : p.b().length());
                if (p.isRandomNext()) {
                    // target in [2, 17]
                    int t = p.targetBLength() + p.a().length();
                    assertTrue(p.targetBLength() >= 1 && t <= 17, "target " + t);
                    shorter |= t < 17;
                } else {
                    assertTrue(chunk <= 17);
                    shorter |= chunk < 17 && chunk > 0;
                }
            }
        }
        assertTrue(shorter);
    }

    @Test
    void truncateTrimsTheLongerSideUntilItFits() {
        Segment a = sentence(1, 10);
        Segment b = sentence(2, 4);
        for (long seed = 0; seed < 100; seed++) {
            Segment[] out = NextSentencePairs.truncate(a, b, 8, Seeds.random(seed));
            // 10+4 -> trims A to 4 (while A is strictly longer), then 4+4 = 8 fits
            assertEquals(4, out[0].length());
            assertEquals(b, out[1]);
            assertIsSlice(a, out[0]);
        }
        for (long seed = 0; seed < 100; seed++) {
            Segment[] out = NextSentencePairs.truncate(a, b, 5, Seeds.random(seed));
            // A down to 4 (8 > 5), then equal lengths trim B: 4+3 = 7 > 5 -> A 3, then B 2
            assertEquals(3, out[0].length());
            assertEquals(2, out[1].length());
            assertIsSlice(a, out[0]);
            assertIsSlice(b, out[1]);
        }
        Segment[] fits = NextSentencePairs.truncate(a, b, 14, new SplittableRandom(1));
        assertEquals(a, fits[0]);
        assertEquals(b, fits[1]);
    }

    @Test
    void truncateTrimsFromBothEnds() {
        Segment a = sentence(1, 20);
        boolean front = false;
        boolean back = false;
        for (long seed = 0; seed < 50; seed++) {
            Segment[] out = NextSentencePairs.truncate(a, Segment.EMPTY, 10, Seeds.random(seed));
            assertEquals(10, out[0].length());
            front |= out[0].ids()[0] != 100;
            back |= out[0].ids()[9] != 119;
        }
        assertTrue(front && back);
    }

    private static void assertIsSlice(Segment whole, Segment part) {
        int from = part.length() == 0 ? 0 : part.ids()[0] - whole.ids()[0];
        assertEquals(whole.slice(from, from + part.length()), part);
    }

    @Test
    void completeTakesSentencesFromTheRandomStart() {
        NextSentencePairs nsp = new NextSentencePairs(100, 0.0);
        Segment a = sentence(1, 3);
        List<Segment> other = new ArrayList<>();
        other.add(sentence(5, 3));
        other.add(Segment.EMPTY); // skipped: the document has 4 non-empty sentences
        other.add(sentence(6, 4));
        other.add(sentence(7, 5));
        other.add(sentence(8, 2));

        // start floor(0.5 * 4) = 2 (sentence 7); 5 < 6 so sentence 8 too
        NextSentencePairs.Pair p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.5, 6),
                        other,
                        new SplittableRandom(1));
        assertEquals(a, p.a());
        assertEquals(Segment.concat(sentence(7, 5), sentence(8, 2)), p.b());
        assertEquals(1, p.label());

        // target 3 reached by sentence 7 alone
        p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.5, 3),
                        other,
                        new SplittableRandom(1));
        assertEquals(sentence(7, 5), p.b());

        // start floor(0.99 * 4) = 3: only sentence 8 is left, target not reached
        p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.99, 50),
                        other,
                        new SplittableRandom(1));
        assertEquals(sentence(8, 2), p.b());

        // start 0: 3 + 4 = 7 >= 7
        p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.0, 7),
                        other,
                        new SplittableRandom(1));
        assertEquals(Segment.concat(sentence(5, 3), sentence(6, 4)), p.b());
        // 0.2499 * 4 = 0.9996 -> 0
        p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.2499, 1),
                        other,
                        new SplittableRandom(1));
        assertEquals(sentence(5, 3), p.b());
        // 0.25 * 4 = 1 -> sentence 6
        p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 4, 0.25, 1),
                        other,
                        new SplittableRandom(1));
        assertEquals(sentence(6, 4), p.b());
    }

    @Test
    void completeKeepsAFollowingBAndTruncates() {
        NextSentencePairs nsp = new NextSentencePairs(10, 0.0); // 7 tokens for A and B
        Segment a = sentence(1, 3);
        Segment b = sentence(2, 4);
        NextSentencePairs.Pair p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, b, -1, 0, 0),
                        null,
                        new SplittableRandom(1));
        assertEquals(a, p.a());
        assertEquals(b, p.b());
        assertEquals(0, p.label());
        // a random B of 9 tokens: 3 + 9 > 7 -> B trimmed to 4
        for (long seed = 0; seed < 50; seed++) {
            p =
                    nsp.complete(
                            new NextSentencePairs.Plan(0, a, null, 1, 0.0, 4),
                            List.of(sentence(5, 9)),
                            Seeds.random(seed));
            assertEquals(a, p.a());
            assertEquals(4, p.b().length());
            assertEquals(1, p.label());
            assertIsSlice(sentence(5, 9), p.b());
        }
    }

    @Test
    void completeRefusesAnEmptyRandomDocument() {
        NextSentencePairs nsp = new NextSentencePairs(10, 0.0);
        assertThrows(
                IllegalArgumentException.class,
                () ->
                        nsp.complete(
                                new NextSentencePairs.Plan(0, sentence(1, 2), null, 1, 0.3, 2),
                                List.of(Segment.EMPTY),
                                new SplittableRandom(1)));
    }

    @Test
    void completedPairsAlwaysFitTheWindow() {
        for (int maxLength : new int[] {5, 8, 16, 40}) {
            NextSentencePairs nsp = new NextSentencePairs(maxLength, 0.1);
            SplittableRandom shape = new SplittableRandom(maxLength);
            for (long seed = 0; seed < 200; seed++) {
                int[] lengths = new int[1 + shape.nextInt(8)];
                for (int k = 0; k < lengths.length; k++) {
                    lengths[k] = 1 + shape.nextInt(30);
                }
                List<Segment> doc = document(lengths);
                List<Segment> other = document(7, 13, 2, 25);
                for (NextSentencePairs.Plan plan : nsp.plan(doc, 0, 2, Seeds.random(seed))) {
                    NextSentencePairs.Pair pair =
                            nsp.complete(plan, other, Seeds.random(seed, plan.instance()));
                    int total = pair.a().length() + pair.b().length();
                    assertTrue(total <= maxLength - 3, total + " > " + (maxLength - 3));
                    assertTrue(pair.a().length() >= 1);
                    assertTrue(pair.b().length() >= 1);
                    assertEquals(plan.isRandomNext() ? 1 : 0, pair.label());
                }
            }
        }
    }

    @Test
    void wordStartsTravelWithTheTokens() {
        NextSentencePairs nsp = new NextSentencePairs(100, 0.0);
        Segment a = sentence(1, 5);
        NextSentencePairs.Pair p =
                nsp.complete(
                        new NextSentencePairs.Plan(0, a, null, 1, 0.0, 3),
                        List.of(sentence(2, 3)),
                        new SplittableRandom(0));
        assertArrayEquals(new boolean[] {true, false, true, false, true}, p.a().wordStart());
        assertArrayEquals(new int[] {200, 201, 202}, p.b().ids());
        assertArrayEquals(new boolean[] {true, false, true}, p.b().wordStart());
    }
}
