package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Causal-LM packing: the documents of a split, each followed by EOS, laid end to end in document
 * order and cut into windows of {@code window} tokens. A document at global token offset {@code o}
 * contributes {@link Piece}s to the windows it overlaps; the pieces of a window, ordered by
 * position, make the window. (The last window of a split may be short; it is padded.)
 */
public final class CausalPacking {
    private CausalPacking() {}

    /**
     * Part of one document inside one window.
     *
     * @param window window index within the split
     * @param position where the piece starts inside the window
     * @param ids the tokens
     * @param docId the document
     */
    public record Piece(long window, int position, int[] ids, long docId) implements Serializable {}

    /** The pieces of a document of {@code ids} starting at global offset {@code offset}. */
    public static List<Piece> pieces(long offset, int[] ids, long docId, int window) {
        List<Piece> out = new ArrayList<>();
        int from = 0;
        while (from < ids.length) {
            long at = offset + from;
            long w = at / window;
            int position = (int) (at % window);
            int take = Math.min(ids.length - from, window - position);
            out.add(new Piece(w, position, Arrays.copyOfRange(ids, from, from + take), docId));
            from += take;
        }
        return out;
    }

    /** A window's tokens from its pieces, and the first document in it. */
    public record Window(int[] ids, long firstDocId) {}

    public static Window assemble(List<Piece> pieces) {
        List<Piece> sorted = new ArrayList<>(pieces);
        sorted.sort(Comparator.comparingInt(Piece::position));
        int n = 0;
        for (Piece p : sorted) {
            if (p.position() != n) {
                throw new IllegalStateException(
                        "pieces of window " + p.window() + " leave a gap at " + n);
            }
            n += p.ids().length;
        }
        int[] ids = new int[n];
        for (Piece p : sorted) {
            System.arraycopy(p.ids(), 0, ids, p.position(), p.ids().length);
        }
        return new Window(ids, sorted.get(0).docId());
    }

    /** Without packing: a document's tokens in consecutive windows (one unless it is too long). */
    public static List<int[]> split(int[] ids, int window) {
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from < ids.length; from += window) {
            out.add(Arrays.copyOfRange(ids, from, Math.min(ids.length, from + window)));
        }
        return out;
    }
}
