package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SentencePackingTest {

    /** Sentence k of n tokens: ids 10(k+1), 10(k+1)+1, ...; word start at even offsets. */
    private static Segment sentence(int k, int n) {
        int[] ids = new int[n];
        boolean[] starts = new boolean[n];
        for (int j = 0; j < n; j++) {
            ids[j] = 10 * (k + 1) + j;
            starts[j] = j % 2 == 0;
        }
        return new Segment(ids, starts);
    }

    private static List<Segment> sentences(int... lengths) {
        List<Segment> out = new ArrayList<>();
        for (int k = 0; k < lengths.length; k++) {
            out.add(sentence(k, lengths[k]));
        }
        return out;
    }

    @Test
    void packsGreedilyAndCutsOverlongSentences() {
        SentencePacking.Packed p = SentencePacking.pack(sentences(2, 2, 3, 7, 1, 0, 5), 5);
        List<Segment> c = p.chunks();
        assertEquals(5, c.size());
        assertArrayEquals(new int[] {10, 11, 20, 21}, c.get(0).ids());
        assertArrayEquals(new boolean[] {true, false, true, false}, c.get(0).wordStart());
        assertArrayEquals(new int[] {30, 31, 32}, c.get(1).ids());
        assertArrayEquals(new int[] {40, 41, 42, 43, 44}, c.get(2).ids());
        assertArrayEquals(new boolean[] {true, false, true, false, true}, c.get(2).wordStart());
        // the rest of the cut sentence starts the next chunk; the empty sentence is skipped
        assertArrayEquals(new int[] {45, 46, 50}, c.get(3).ids());
        assertArrayEquals(new boolean[] {false, true, true}, c.get(3).wordStart());
        assertArrayEquals(new int[] {70, 71, 72, 73, 74}, c.get(4).ids());
        assertEquals(1, p.cutSentences());
    }

    @Test
    void sentenceOfExactlyTwoWindows() {
        SentencePacking.Packed p = SentencePacking.pack(sentences(1, 10, 1), 5);
        List<Segment> c = p.chunks();
        assertEquals(4, c.size());
        assertArrayEquals(new int[] {10}, c.get(0).ids());
        assertArrayEquals(new int[] {20, 21, 22, 23, 24}, c.get(1).ids());
        assertArrayEquals(new int[] {25, 26, 27, 28, 29}, c.get(2).ids());
        assertArrayEquals(new int[] {30}, c.get(3).ids());
        assertEquals(1, p.cutSentences());
    }

    @Test
    void sentencesFillingTheCapacityExactly() {
        SentencePacking.Packed p = SentencePacking.pack(sentences(3, 2, 5, 4, 1), 5);
        List<Segment> c = p.chunks();
        assertEquals(3, c.size());
        assertArrayEquals(new int[] {10, 11, 12, 20, 21}, c.get(0).ids());
        assertArrayEquals(new int[] {30, 31, 32, 33, 34}, c.get(1).ids());
        assertArrayEquals(new int[] {40, 41, 42, 43, 50}, c.get(2).ids());
        assertEquals(0, p.cutSentences());
    }

    @Test
    void everyTokenKeptInOrderAndNoChunkOverCapacity() {
        int[] lengths = {4, 9, 1, 1, 12, 3, 3, 3, 0, 7, 2};
        List<Segment> in = sentences(lengths);
        for (int capacity = 1; capacity <= 15; capacity++) {
            SentencePacking.Packed p = SentencePacking.pack(in, capacity);
            List<Integer> out = new ArrayList<>();
            for (Segment s : p.chunks()) {
                assertTrue(s.length() >= 1 && s.length() <= capacity);
                for (int id : s.ids()) {
                    out.add(id);
                }
            }
            List<Integer> expected = new ArrayList<>();
            int cut = 0;
            for (Segment s : in) {
                for (int id : s.ids()) {
                    expected.add(id);
                }
                cut += s.length() > capacity ? 1 : 0;
            }
            assertEquals(expected, out, "capacity " + capacity);
            assertEquals(cut, p.cutSentences(), "capacity " + capacity);
        }
    }

    @Test
    void emptyInputAndBadCapacity() {
        assertEquals(0, SentencePacking.pack(List.of(), 5).chunks().size());
        assertEquals(0, SentencePacking.pack(List.of(Segment.EMPTY), 5).chunks().size());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> SentencePacking.pack(sentences(1), 0));
        assertTrue(e.getMessage().contains("0"), e.getMessage());
    }
}
