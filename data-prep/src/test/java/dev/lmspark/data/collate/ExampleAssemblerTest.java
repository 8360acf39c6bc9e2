package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ExampleAssemblerTest {

    // WordPiece: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4
    private static final int PAD = 0;
    private static final int CLS = 2;
    private static final int SEP = 3;
    private static final int MASK = 4;

    private static BitSet wordPieceSpecials() {
        BitSet b = new BitSet();
        b.set(0, 5);
        return b;
    }

    private static ExampleAssembler mlmAssembler(int maxLength, boolean left) {
        return new ExampleAssembler(maxLength, left, PAD, wordPieceSpecials(), CLS, SEP, null);
    }

    private static Masker maskAll() {
        return new Masker(
                new MaskingConfig(MaskingConfig.Strategy.BERNOULLI, 1.0, 1.0, 0.0, 100, false),
                MASK,
                30,
                wordPieceSpecials());
    }

    private static Masker maskNothingReplaced() {
        // every non-special token predicted, none replaced
        return new Masker(
                new MaskingConfig(MaskingConfig.Strategy.BERNOULLI, 1.0, 0.0, 0.0, 100, false),
                MASK,
                30,
                wordPieceSpecials());
    }

    private static final Segment A = new Segment(new int[] {10, 11}, new boolean[] {true, false});
    private static final Segment B =
            new Segment(new int[] {12, 13, 14}, new boolean[] {true, true, false});

    @Test
    void mlmSequenceOfAPair() {
        ExampleAssembler.MlmSequence s = mlmAssembler(12, false).mlmSequence(A, B);
        assertArrayEquals(new int[] {CLS, 10, 11, SEP, 12, 13, 14, SEP}, s.tokens().ids());
        assertArrayEquals(
                new boolean[] {true, true, false, true, true, true, false, true},
                s.tokens().wordStart());
        assertArrayEquals(new byte[] {0, 0, 0, 0, 1, 1, 1, 1}, s.typeIds());
    }

    @Test
    void mlmSequenceOfOneSegment() {
        ExampleAssembler.MlmSequence s = mlmAssembler(12, false).mlmSequence(A, null);
        assertArrayEquals(new int[] {CLS, 10, 11, SEP}, s.tokens().ids());
        assertArrayEquals(new boolean[] {true, true, false, true}, s.tokens().wordStart());
        assertArrayEquals(new byte[] {0, 0, 0, 0}, s.typeIds());
    }

    @Test
    void mlmRightPadded() {
        ExampleAssembler a = mlmAssembler(10, false);
        MaskStats stats = new MaskStats();
        Example e = a.mlm(a.mlmSequence(A, B), maskAll(), 1, 42L, new SplittableRandom(1), stats);
        assertArrayEquals(
                new int[] {CLS, MASK, MASK, SEP, MASK, MASK, MASK, SEP, PAD, PAD}, e.inputIds());
        assertArrayEquals(new byte[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, e.attentionMask());
        assertArrayEquals(new byte[] {0, 0, 0, 0, 1, 1, 1, 1, 0, 0}, e.tokenTypeIds());
        assertArrayEquals(new int[] {-100, 10, 11, -100, 12, 13, 14, -100, -100, -100}, e.labels());
        // specials of the original sequence, and padding; [MASK] where a word was is not special
        assertArrayEquals(new byte[] {1, 0, 0, 1, 0, 0, 0, 1, 1, 1}, e.specialTokensMask());
        assertArrayEquals(new byte[] {1, 1, 0, 1, 1, 1, 0, 1, 0, 0}, e.wordStart());
        assertEquals(1, e.nextSentenceLabel());
        assertNull(e.targetIds());
        assertEquals(42L, e.docId());
        assertEquals(8, e.realTokens());
        assertEquals(5, stats.candidates);
        assertEquals(5, stats.masked);
        assertEquals(0, stats.randomized);
        assertEquals(0, stats.unchanged);
    }

    @Test
    void mlmLeftPadded() {
        ExampleAssembler a = mlmAssembler(10, true);
        Example e = a.mlm(a.mlmSequence(A, B), maskAll(), 0, 7L, new SplittableRandom(1), null);
        assertArrayEquals(
                new int[] {PAD, PAD, CLS, MASK, MASK, SEP, MASK, MASK, MASK, SEP}, e.inputIds());
        assertArrayEquals(new byte[] {0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, e.tokenTypeIds());
        assertArrayEquals(new int[] {-100, -100, -100, 10, 11, -100, 12, 13, 14, -100}, e.labels());
        assertArrayEquals(new byte[] {1, 1, 1, 0, 0, 1, 0, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new byte[] {0, 0, 1, 1, 0, 1, 1, 1, 0, 1}, e.wordStart());
        assertEquals(0, e.nextSentenceLabel());
    }

    @Test
    void mlmWithoutNspAndExactlyFull() {
        ExampleAssembler a = mlmAssembler(4, false);
        Example e =
                a.mlm(
                        a.mlmSequence(A, null),
                        maskNothingReplaced(),
                        null,
                        3L,
                        new SplittableRandom(1),
                        null);
        assertArrayEquals(new int[] {CLS, 10, 11, SEP}, e.inputIds());
        assertArrayEquals(new int[] {-100, 10, 11, -100}, e.labels());
        assertArrayEquals(new byte[] {1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new byte[] {1, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new byte[] {0, 0, 0, 0}, e.tokenTypeIds());
        assertNull(e.nextSentenceLabel());
    }

    @Test
    void overlongSequencesAreRefused() {
        ExampleAssembler a = mlmAssembler(7, false);
        ExampleAssembler.MlmSequence s = a.mlmSequence(A, B); // 8 tokens
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> a.mlm(s, maskAll(), 0, 0L, new SplittableRandom(1), null));
        assertTrue(e.getMessage().contains("8") && e.getMessage().contains("7"), e.getMessage());
    }

    @Test
    void mlmLabelsMatchTheMaskerOnRandomMasking() {
        ExampleAssembler a = mlmAssembler(12, false);
        Masker m = new Masker(MaskingConfig.defaults(20), MASK, 30, wordPieceSpecials());
        for (long seed = 0; seed < 200; seed++) {
            ExampleAssembler.MlmSequence s = a.mlmSequence(A, B);
            Example e = a.mlm(s, m, 0, 0L, new SplittableRandom(seed), null);
            int[] orig = s.tokens().ids();
            for (int i = 0; i < 12; i++) {
                if (i >= orig.length) {
                    assertEquals(PAD, e.inputIds()[i]);
                    assertEquals(-100, e.labels()[i]);
                } else if (e.labels()[i] != -100) {
                    assertEquals(orig[i], e.labels()[i]);
                    assertTrue(orig[i] >= 5);
                } else {
                    assertEquals(orig[i], e.inputIds()[i]);
                }
            }
        }
    }

    // ---------------------------------------------------------------- causal

    // byte-level BPE: <|endoftext|>=0 <pad>=1 <fim_prefix>=2 <fim_middle>=3 <fim_suffix>=4
    // <fim_pad>=5
    private static BitSet bpeSpecials() {
        BitSet b = new BitSet();
        b.set(0, 6);
        return b;
    }

    @Test
    void causalLabelsAreTheInputsExceptFimPadAndPadding() {
        ExampleAssembler a = new ExampleAssembler(10, false, 1, bpeSpecials(), null, null, 5);
        Example e = a.causal(new int[] {2, 100, 4, 101, 3, 102, 5, 0}, 11L);
        assertArrayEquals(new int[] {2, 100, 4, 101, 3, 102, 5, 0, 1, 1}, e.inputIds());
        assertArrayEquals(new int[] {2, 100, 4, 101, 3, 102, -100, 0, -100, -100}, e.labels());
        assertArrayEquals(new byte[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, e.attentionMask());
        assertArrayEquals(new byte[] {1, 0, 1, 0, 1, 0, 1, 1, 1, 1}, e.specialTokensMask());
        assertArrayEquals(new byte[10], e.tokenTypeIds());
        assertNull(e.wordStart());
        assertNull(e.nextSentenceLabel());
        assertNull(e.targetIds());
        assertEquals(11L, e.docId());
    }

    @Test
    void causalLabelsComeFromTheMaskNotThePadId() {
        // pad = EOS = 0: the real EOS keeps its label, padding does not
        ExampleAssembler a = new ExampleAssembler(5, false, 0, bpeSpecials(), null, null, null);
        Example e = a.causal(new int[] {100, 101, 0}, 0L);
        assertArrayEquals(new int[] {100, 101, 0, 0, 0}, e.inputIds());
        assertArrayEquals(new int[] {100, 101, 0, -100, -100}, e.labels());
        assertArrayEquals(new byte[] {1, 1, 1, 0, 0}, e.attentionMask());
        // without a <fim_pad>, id 5 is an ordinary label
        Example f = a.causal(new int[] {5, 5}, 0L);
        assertArrayEquals(new int[] {5, 5, -100, -100, -100}, f.labels());
    }

    @Test
    void causalLeftPadded() {
        ExampleAssembler a = new ExampleAssembler(6, true, 1, bpeSpecials(), null, null, 5);
        Example e = a.causal(new int[] {100, 5, 0}, 0L);
        assertArrayEquals(new int[] {1, 1, 1, 100, 5, 0}, e.inputIds());
        assertArrayEquals(new int[] {-100, -100, -100, 100, -100, 0}, e.labels());
        assertArrayEquals(new byte[] {0, 0, 0, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new byte[] {1, 1, 1, 0, 1, 1}, e.specialTokensMask());
    }

    @Test
    void seq2seqTargetsAreRightPaddedAndCut() {
        ExampleAssembler a = mlmAssembler(5, true);
        Example e =
                a.seq2seq(
                        new int[] {CLS, 10, SEP},
                        new int[] {-100, -100, -100},
                        new int[] {CLS, 10, SEP},
                        new byte[3],
                        new int[] {20, 21, SEP},
                        4L);
        assertArrayEquals(new int[] {PAD, PAD, CLS, 10, SEP}, e.inputIds());
        assertArrayEquals(new int[] {20, 21, SEP, PAD, PAD}, e.targetIds());
        Example cut =
                a.seq2seq(
                        new int[] {CLS, 10, SEP},
                        new int[] {-100, -100, -100},
                        new int[] {CLS, 10, SEP},
                        new byte[3],
                        new int[] {20, 21, 22, 23, 24, 25, SEP},
                        4L);
        assertArrayEquals(new int[] {20, 21, 22, 23, 24}, cut.targetIds());
    }
}
