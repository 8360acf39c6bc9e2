package dev.lmspark.data.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class CausalPackingTest {

    private static final int EOS = 0;

    private static void assertPiece(
            CausalPacking.Piece p, long window, int position, int[] ids, long docId) {
        assertEquals(window, p.window());
        assertEquals(position, p.position());
        assertArrayEquals(ids, p.ids());
        assertEquals(docId, p.docId());
    }

    @Test
    void piecesAcrossWindowBoundaries() {
        // window 4; documents (EOS appended) at offsets 0, 4, 7, 14
        int[] d0 = {11, 12, 13, EOS};
        int[] d1 = {21, 22, EOS};
        int[] d2 = {31, 32, 33, 34, 35, 36, EOS};
        int[] d3 = {41, EOS};

        List<CausalPacking.Piece> p0 = CausalPacking.pieces(0, d0, 0, 4);
        assertEquals(1, p0.size());
        assertPiece(p0.get(0), 0, 0, new int[] {11, 12, 13, EOS}, 0);

        List<CausalPacking.Piece> p1 = CausalPacking.pieces(4, d1, 1, 4);
        assertEquals(1, p1.size());
        assertPiece(p1.get(0), 1, 0, new int[] {21, 22, EOS}, 1);

        List<CausalPacking.Piece> p2 = CausalPacking.pieces(7, d2, 2, 4);
        assertEquals(3, p2.size());
        assertPiece(p2.get(0), 1, 3, new int[] {31}, 2);
        assertPiece(p2.get(1), 2, 0, new int[] {32, 33, 34, 35}, 2);
        assertPiece(p2.get(2), 3, 0, new int[] {36, EOS}, 2);

        List<CausalPacking.Piece> p3 = CausalPacking.pieces(14, d3, 3, 4);
        assertEquals(1, p3.size());
        assertPiece(p3.get(0), 3, 2, new int[] {41, EOS}, 3);

        // group by window in a scrambled order, then assemble
        List<CausalPacking.Piece> all = new ArrayList<>();
        all.addAll(p3);
        all.addAll(p1);
        all.addAll(p2);
        all.addAll(p0);
        Map<Long, List<CausalPacking.Piece>> byWindow = new TreeMap<>();
        for (CausalPacking.Piece p : all) {
            byWindow.computeIfAbsent(p.window(), k -> new ArrayList<>()).add(p);
        }
        assertEquals(4, byWindow.size());
        CausalPacking.Window w0 = CausalPacking.assemble(byWindow.get(0L));
        assertArrayEquals(new int[] {11, 12, 13, EOS}, w0.ids());
        assertEquals(0, w0.firstDocId());
        CausalPacking.Window w1 = CausalPacking.assemble(byWindow.get(1L));
        assertArrayEquals(new int[] {21, 22, EOS, 31}, w1.ids());
        assertEquals(1, w1.firstDocId());
        CausalPacking.Window w2 = CausalPacking.assemble(byWindow.get(2L));
        assertArrayEquals(new int[] {32, 33, 34, 35}, w2.ids());
        assertEquals(2, w2.firstDocId());
        CausalPacking.Window w3 = CausalPacking.assemble(byWindow.get(3L));
        assertArrayEquals(new int[] {36, EOS, 41, EOS}, w3.ids());
        assertEquals(2, w3.firstDocId());
    }

    @Test
    void documentFillingWindowsExactly() {
        List<CausalPacking.Piece> p =
                CausalPacking.pieces(8, new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 9, 4);
        assertEquals(2, p.size());
        assertPiece(p.get(0), 2, 0, new int[] {1, 2, 3, 4}, 9);
        assertPiece(p.get(1), 3, 0, new int[] {5, 6, 7, 8}, 9);
        assertEquals(0, CausalPacking.pieces(8, new int[0], 9, 4).size());
    }

    @Test
    void largeOffsetsUseLongArithmetic() {
        long offset = 4L * 3_000_000_000L + 3;
        List<CausalPacking.Piece> p = CausalPacking.pieces(offset, new int[] {7, 8, 9}, 5, 4);
        assertEquals(2, p.size());
        assertPiece(p.get(0), 3_000_000_000L, 3, new int[] {7}, 5);
        assertPiece(p.get(1), 3_000_000_001L, 0, new int[] {8, 9}, 5);
    }

    @Test
    void lastWindowMayBeShort() {
        // the split's last two documents at offsets 8 and 10 with window 4: window 2 = 3 tokens
        List<CausalPacking.Piece> pieces = new ArrayList<>();
        pieces.addAll(CausalPacking.pieces(10, new int[] {5}, 4, 4));
        pieces.addAll(CausalPacking.pieces(8, new int[] {1, EOS}, 3, 4));
        CausalPacking.Window w = CausalPacking.assemble(pieces);
        assertArrayEquals(new int[] {1, EOS, 5}, w.ids());
        assertEquals(3, w.firstDocId());
    }

    @Test
    void gapsAreRefused() {
        List<CausalPacking.Piece> pieces =
                List.of(
                        new CausalPacking.Piece(0, 0, new int[] {1, 2}, 0),
                        new CausalPacking.Piece(0, 3, new int[] {4}, 1));
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> CausalPacking.assemble(pieces));
        assertEquals("pieces of window 0 leave a gap at 2", e.getMessage());
        CausalPacking.Window shortWindow =
                CausalPacking.assemble(
                        List.of(
                                new CausalPacking.Piece(5, 2, new int[] {3}, 8),
                                new CausalPacking.Piece(5, 0, new int[] {1, 2}, 7)));
        assertArrayEquals(new int[] {1, 2, 3}, shortWindow.ids());
        assertEquals(7, shortWindow.firstDocId());
    }

    @Test
    void splitWithoutPacking() {
        List<int[]> s = CausalPacking.split(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4);
        assertEquals(3, s.size());
        assertArrayEquals(new int[] {1, 2, 3, 4}, s.get(0));
        assertArrayEquals(new int[] {5, 6, 7, 8}, s.get(1));
        assertArrayEquals(new int[] {9, 10}, s.get(2));
        List<int[]> exact = CausalPacking.split(new int[] {1, 2, 3, 4}, 4);
        assertEquals(1, exact.size());
        assertArrayEquals(new int[] {1, 2, 3, 4}, exact.get(0));
        assertEquals(0, CausalPacking.split(new int[0], 4).size());
        List<int[]> one = CausalPacking.split(new int[] {1, 2, 3}, 1);
        assertEquals(3, one.size());
        assertArrayEquals(new int[] {3}, one.get(2));
    }
}
