package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * A run of token ids with the word-start flag of each (true at the first sub-token of a word).
 *
 * @param ids token ids
 * @param wordStart same length as {@code ids}
 */
public record Segment(int[] ids, boolean[] wordStart) implements Serializable {

    public Segment {
        if (ids.length != wordStart.length) {
            throw new IllegalArgumentException(
                    "ids and word starts differ in length: "
                            + ids.length
                            + " vs "
                            + wordStart.length);
        }
    }

    public static final Segment EMPTY = new Segment(new int[0], new boolean[0]);

    /** A segment of special tokens (each its own word). */
    public static Segment specials(int... ids) {
        boolean[] starts = new boolean[ids.length];
        Arrays.fill(starts, true);
        return new Segment(ids, starts);
    }

    public int length() {
        return ids.length;
    }

    /** Tokens {@code [from, to)}. */
    public Segment slice(int from, int to) {
        return new Segment(
                Arrays.copyOfRange(ids, from, to), Arrays.copyOfRange(wordStart, from, to));
    }

    /** The segments one after another. */
    public static Segment concat(List<Segment> parts) {
        int n = 0;
        for (Segment s : parts) {
            n += s.length();
        }
        int[] ids = new int[n];
        boolean[] starts = new boolean[n];
        int at = 0;
        for (Segment s : parts) {
            System.arraycopy(s.ids, 0, ids, at, s.length());
            System.arraycopy(s.wordStart, 0, starts, at, s.length());
            at += s.length();
        }
        return new Segment(ids, starts);
    }

    /** The segments one after another. */
    public static Segment concat(Segment... parts) {
        return concat(List.of(parts));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Segment s
                && Arrays.equals(ids, s.ids)
                && Arrays.equals(wordStart, s.wordStart);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(wordStart);
    }

    @Override
    public String toString() {
        return Arrays.toString(ids);
    }
}
