package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.data.random.Seeds;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

class FillInTheMiddleTest {

    // lmspark's byte-level BPE ids (docs/dataset-format.md)
    private static final int EOS = 0;
    private static final int PREFIX = 2;
    private static final int MIDDLE = 3;
    private static final int SUFFIX = 4;
    private static final int PAD = 5;

    private static final int AB = 200;

    private static FillInTheMiddle fim(double rate, double spmRate) {
        return new FillInTheMiddle(rate, spmRate, PREFIX, MIDDLE, SUFFIX, PAD);
    }

    /** Toy tokenizer: a..z -> 100..125, except that "ab" merges into one token, 200. */
    private static final Function<String, int[]> ENCODE =
            text -> {
                int[] out = new int[text.length()];
                int n = 0;
                for (int i = 0; i < text.length(); i++) {
                    if (text.startsWith("ab", i)) {
                        out[n++] = AB;
                        i++;
                    } else {
                        char c = text.charAt(i);
                        if (c < 'a' || c > 'z') {
                            throw new IllegalArgumentException("toy tokenizer: " + c);
                        }
                        out[n++] = 100 + (c - 'a');
                    }
                }
                return Arrays.copyOf(out, n);
            };

    private static final Function<int[], String> DECODE =
            ids -> {
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    if (id == AB) {
                        sb.append("ab");
                    } else if (id >= 100 && id < 126) {
                        sb.append((char) ('a' + id - 100));
                    } else {
                        throw new IllegalArgumentException("toy tokenizer: id " + id);
                    }
                }
                return sb.toString();
            };

    /** Token ids of the letters of {@code s}, one per letter (no merges), as a packer sees them. */
    private static int[] letters(String s) {
        int[] out = new int[s.length()];
        for (int i = 0; i < s.length(); i++) {
            out[i] = 100 + (s.charAt(i) - 'a');
        }
        return out;
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** A seed whose generator makes {@code fim} cut {@code text} into the given parts. */
    private static long seedFor(FillInTheMiddle fim, String text, String p, String m, String s) {
        for (long seed = 0; seed < 1_000_000; seed++) {
            FillInTheMiddle.Cut c = fim.cut(text, new SplittableRandom(seed));
            if (c != null && c.prefix().equals(p) && c.middle().equals(m) && c.suffix().equals(s)) {
                return seed;
            }
        }
        throw new AssertionError("no seed cuts " + text + " as " + p + "|" + m + "|" + s);
    }

    private static IntFunction<SplittableRandom> seeds(long... perSegment) {
        return k -> new SplittableRandom(perSegment[k]);
    }

    // ---------------------------------------------------------------- arrange

    @Test
    void arrangePsmAndSpmExactly() {
        FillInTheMiddle f = fim(1, 0);
        int[] p = {100, 101};
        int[] m = {102};
        int[] s = {103, 104, 105};
        assertArrayEquals(
                new int[] {PREFIX, 100, 101, SUFFIX, 103, 104, 105, MIDDLE, 102},
                f.arrange(p, m, s, false));
        assertArrayEquals(
                new int[] {PREFIX, SUFFIX, 103, 104, 105, MIDDLE, 100, 101, 102},
                f.arrange(p, m, s, true));
        // empty parts
        assertArrayEquals(
                new int[] {PREFIX, SUFFIX, MIDDLE, 102},
                f.arrange(new int[0], m, new int[0], false));
        assertArrayEquals(
                new int[] {PREFIX, SUFFIX, MIDDLE},
                f.arrange(new int[0], new int[0], new int[0], true));
    }

    @Test
    void arrangeACutTokenizesEachPartOnItsOwn() {
        FillInTheMiddle f = fim(1, 0);
        // "a|bab|c": the "ab" across the first cut does not merge; inside "bab" it does
        FillInTheMiddle.Cut psm = new FillInTheMiddle.Cut("a", "bab", "c", false);
        assertArrayEquals(
                new int[] {PREFIX, 100, SUFFIX, 102, MIDDLE, 101, AB}, f.arrange(psm, ENCODE));
        FillInTheMiddle.Cut spm = new FillInTheMiddle.Cut("ab", "c", "dab", true);
        assertArrayEquals(
                new int[] {PREFIX, SUFFIX, 103, AB, MIDDLE, AB, 102}, f.arrange(spm, ENCODE));
    }

    // ---------------------------------------------------------------- cut

    @Test
    void cutAtRateOneSplitsTextWithoutBreakingCodePoints() {
        FillInTheMiddle f = fim(1, 0);
        String text = "a😀b𝄞c"; // 5 code points, 7 chars
        Set<String> shapes = new HashSet<>();
        for (long seed = 0; seed < 3000; seed++) {
            FillInTheMiddle.Cut c = f.cut(text, Seeds.random(seed));
            assertNotNull(c);
            assertEquals(text, c.prefix() + c.middle() + c.suffix());
            for (String part : new String[] {c.prefix(), c.middle(), c.suffix()}) {
                if (!part.isEmpty()) {
                    assertFalse(Character.isLowSurrogate(part.charAt(0)), "split pair: " + c);
                    assertFalse(
                            Character.isHighSurrogate(part.charAt(part.length() - 1)),
                            "split pair: " + c);
                }
            }
            assertFalse(c.spm());
            shapes.add(
                    c.prefix().codePointCount(0, c.prefix().length())
                            + ","
                            + c.middle().codePointCount(0, c.middle().length()));
        }
        // every (lo, hi) with 0 <= lo <= hi <= 5 occurs: 21 shapes, both ends included
        assertEquals(21, shapes.size(), shapes.toString());
        assertTrue(shapes.contains("0,0") && shapes.contains("5,0") && shapes.contains("0,5"));
    }

    @Test
    void cutOfEmptyTextGivesEmptyParts() {
        FillInTheMiddle.Cut c = fim(1, 1).cut("", new SplittableRandom(1));
        assertEquals(new FillInTheMiddle.Cut("", "", "", true), c);
    }

    @Test
    void cutAtRateZeroIsAlwaysNull() {
        FillInTheMiddle f = fim(0, 0.5);
        for (long seed = 0; seed < 500; seed++) {
            assertNull(f.cut("some text", Seeds.random(seed)));
        }
    }

    @Test
    void cutRatesAndSpmRate() {
        FillInTheMiddle f = fim(0.3, 0.25);
        int cuts = 0;
        int spm = 0;
        int n = 20_000;
        for (long seed = 0; seed < n; seed++) {
            FillInTheMiddle.Cut c = f.cut("hello world", Seeds.random(seed, 5));
            if (c != null) {
                cuts++;
                spm += c.spm() ? 1 : 0;
            }
        }
        assertEquals(0.3, (double) cuts / n, 0.015);
        assertEquals(0.25, (double) spm / cuts, 0.025);
        FillInTheMiddle always = fim(1, 1);
        for (long seed = 0; seed < 100; seed++) {
            assertTrue(always.cut("xyz", Seeds.random(seed)).spm());
        }
    }

    @Test
    void constructorValidatesRates() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> fim(1.5, 0));
        assertTrue(e.getMessage().contains("--fim-rate"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> fim(0.5, -0.1));
        assertTrue(e.getMessage().contains("--fim-spm-rate"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> fim(Double.NaN, 0));
    }

    // ---------------------------------------------------------------- context level

    @Test
    void toyTokenizerRoundTrips() {
        assertArrayEquals(new int[] {AB, 102, AB, 100}, ENCODE.apply("abcaba"));
        assertEquals("abcaba", DECODE.apply(new int[] {AB, 102, AB, 100}));
        assertEquals("abab", DECODE.apply(letters("abab")));
    }

    @Test
    void contextLevelPadsAShorterFormAndTruncatesALongerOne() {
        // segment 0: "abababab" as 8 unmerged tokens; cut ab|abab|ab re-encodes to 1+2+1 tokens,
        // +3 sentinels = 7 < 8 -> one <fim_pad>.
        // segment 1: "cdefgh" (6 tokens); cut c|d|efgh -> 1+1+4+3 = 9 > 6 -> the suffix loses 3
        // tokens from its end: efgh -> e.
        int[] window = concat(letters("abababab"), new int[] {EOS}, letters("cdefgh"));
        assertEquals(15, window.length);

        FillInTheMiddle psm = fim(1, 0);
        long s0 = seedFor(psm, "abababab", "ab", "abab", "ab");
        long s1 = seedFor(psm, "cdefgh", "c", "d", "efgh");
        FillInTheMiddle.ContextResult r =
                psm.contextLevel(window, EOS, DECODE, ENCODE, seeds(s0, s1));
        assertArrayEquals(
                new int[] {
                    PREFIX, AB, SUFFIX, AB, PAD, MIDDLE, AB, AB, EOS, PREFIX, 102, SUFFIX, 104,
                    MIDDLE, 103
                },
                r.ids());
        assertEquals(2, r.applied());
        assertEquals(1, r.padded());
        assertEquals(1, r.truncated());
        assertEquals(0, r.skipped());

        FillInTheMiddle spm = fim(1, 1);
        s0 = seedFor(spm, "abababab", "ab", "abab", "ab");
        s1 = seedFor(spm, "cdefgh", "c", "d", "efgh");
        r = spm.contextLevel(window, EOS, DECODE, ENCODE, seeds(s0, s1));
        assertArrayEquals(
                new int[] {
                    PREFIX, SUFFIX, AB, PAD, MIDDLE, AB, AB, AB, EOS, PREFIX, SUFFIX, 104, MIDDLE,
                    102, 103
                },
                r.ids());
        assertEquals(2, r.applied());
        assertEquals(1, r.padded());
        assertEquals(1, r.truncated());
    }

    @Test
    void contextLevelKeepsASegmentWhoseSuffixIsTooShort() {
        // "cdefgh" cut cde|f|gh: 9 tokens for 6 places, the suffix has only 2 to give -> unchanged
        FillInTheMiddle f = fim(1, 0);
        int[] window = concat(letters("cdefgh"), new int[] {EOS});
        long seed = seedFor(f, "cdefgh", "cde", "f", "gh");
        FillInTheMiddle.ContextResult r = f.contextLevel(window, EOS, DECODE, ENCODE, seeds(seed));
        assertArrayEquals(new int[] {102, 103, 104, 105, 106, 107, EOS}, r.ids());
        assertEquals(0, r.applied());
        assertEquals(1, r.skipped());
        assertEquals(0, r.truncated());
        assertEquals(0, r.padded());
    }

    @Test
    void contextLevelKeepsASegmentWhoseWholeSuffixWouldGo() {
        // "cdefgh" cut cd|e|fgh: 9 tokens for 6 places; giving all 3 suffix tokens would empty
        // the suffix, so (as bigcode's Megatron) the segment stays as it was.
        FillInTheMiddle f = fim(1, 0);
        int[] window = letters("cdefgh");
        long seed = seedFor(f, "cdefgh", "cd", "e", "fgh");
        FillInTheMiddle.ContextResult r = f.contextLevel(window, EOS, DECODE, ENCODE, seeds(seed));
        assertArrayEquals(letters("cdefgh"), r.ids());
        assertEquals(0, r.applied());
        assertEquals(1, r.skipped());
        assertEquals(0, r.truncated());
    }

    @Test
    void contextLevelAtRateZeroChangesNothing() {
        int[] window = concat(new int[] {EOS}, letters("abc"), new int[] {EOS, EOS}, letters("de"));
        FillInTheMiddle.ContextResult r =
                fim(0, 0.5).contextLevel(window, EOS, DECODE, ENCODE, k -> Seeds.random(1, k));
        assertArrayEquals(window, r.ids());
        assertEquals(0, r.applied());
        assertEquals(0, r.skipped());
    }

    @Test
    void contextLevelKeepsLengthAndEosPositions() {
        FillInTheMiddle f = fim(1, 0.5);
        SplittableRandom shape = new SplittableRandom(123);
        long applied = 0;
        long padded = 0;
        long truncated = 0;
        long skipped = 0;
        for (long w = 0; w < 3000; w++) {
            int length = 1 + shape.nextInt(40);
            int[] window = new int[length];
            int segments = 1;
            int nonEmpty = 0;
            boolean inSegment = false;
            for (int i = 0; i < length; i++) {
                if (shape.nextInt(8) == 0) {
                    window[i] = EOS;
                    segments++;
                    inSegment = false;
                } else {
                    // mostly a and b, so merges happen
                    window[i] = 100 + shape.nextInt(shape.nextBoolean() ? 2 : 6);
                    if (!inSegment) {
                        nonEmpty++;
                        inSegment = true;
                    }
                }
            }
            final long windowIndex = w;
            final int segmentCount = segments;
            FillInTheMiddle.ContextResult r =
                    f.contextLevel(
                            window,
                            EOS,
                            DECODE,
                            ENCODE,
                            k -> {
                                assertTrue(k >= 0 && k < segmentCount, "segment " + k);
                                return Seeds.random(9, windowIndex, k);
                            });
            assertEquals(length, r.ids().length);
            for (int i = 0; i < length; i++) {
                assertEquals(window[i] == EOS, r.ids()[i] == EOS, "EOS moved at " + i);
            }
            assertEquals(nonEmpty, r.applied() + r.skipped());
            assertTrue(r.padded() + r.truncated() <= r.applied());
            applied += r.applied();
            padded += r.padded();
            truncated += r.truncated();
            skipped += r.skipped();
        }
        assertTrue(applied > 0 && padded > 0 && truncated > 0 && skipped > 0);
    }

    @Test
    void contextLevelSegmentsAreNumberedFromTheWindowStart() {
        // leading EOS: the empty segment before it is segment 0, "abababab" is segment 1
        FillInTheMiddle f = fim(1, 0);
        int[] window = concat(new int[] {EOS}, letters("abababab"));
        long seed = seedFor(f, "abababab", "ab", "abab", "ab");
        FillInTheMiddle.ContextResult r =
                f.contextLevel(window, EOS, DECODE, ENCODE, seeds(12345, seed));
        assertArrayEquals(new int[] {EOS, PREFIX, AB, SUFFIX, AB, PAD, MIDDLE, AB, AB}, r.ids());
    }

    @Test
    void fimPadGetsNoLabelInCausalExamples() {
        BitSet specials = new BitSet();
        specials.set(0, 6);
        ExampleAssembler a = new ExampleAssembler(10, false, 1, specials, null, null, PAD);
        Example e = a.causal(new int[] {PREFIX, AB, SUFFIX, AB, MIDDLE, AB, AB, PAD, EOS}, 0);
        assertArrayEquals(
                new int[] {PREFIX, AB, SUFFIX, AB, MIDDLE, AB, AB, -100, EOS, -100}, e.labels());
    }
}
