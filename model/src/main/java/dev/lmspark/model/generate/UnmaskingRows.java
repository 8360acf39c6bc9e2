package dev.lmspark.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** The batch plumbing of {@link IterativeUnmasking}: checking rows, flattening them, choosing. */
final class UnmaskingRows {
    private UnmaskingRows() {}

    /** {@code n} of {@code from} uniformly without replacement (a partial Fisher–Yates), sorted. */
    static int[] choose(int[] from, int n, SplittableRandom random) {
        int[] pool = from.clone();
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(pool.length - i);
            int swap = pool[i];
            pool[i] = pool[j];
            pool[j] = swap;
        }
        int[] chosen = Arrays.copyOf(pool, n);
        Arrays.sort(chosen);
        return chosen;
    }

    /** Checks a batch: one length, a mask and a key per row where given. */
    static void checkRows(int[][] ids, int[][] mask, long[] keys, int t0) {
        for (int r = 0; r < ids.length; r++) {
            if (ids[r].length != t0) {
                throw new IllegalArgumentException(
                        "row "
                                + r
                                + " has "
                                + ids[r].length
                                + " tokens, row 0 has "
                                + t0
                                + "; left-pad the rows to one length");
            }
            if (mask != null && mask[r].length != t0) {
                throw new IllegalArgumentException(
                        "the attention mask of row "
                                + r
                                + " has "
                                + mask[r].length
                                + " entries for "
                                + t0
                                + " tokens");
            }
        }
        if (mask != null && mask.length != ids.length) {
            throw new IllegalArgumentException(
                    mask.length + " attention-mask rows for " + ids.length + " rows");
        }
        if (keys != null && keys.length != ids.length) {
            throw new IllegalArgumentException(
                    keys.length + " row keys for " + ids.length + " rows");
        }
    }

    /** Row keys 0 … b−1. */
    static long[] defaultKeys(int b) {
        long[] keys = new long[b];
        Arrays.setAll(keys, i -> i);
        return keys;
    }

    /** {@code rows} (B × T) as one flat array. */
    static long[] flatten(int[][] rows) {
        int t = rows.length == 0 ? 0 : rows[0].length;
        long[] out = new long[rows.length * t];
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < t; i++) {
                out[r * t + i] = rows[r][i];
            }
        }
        return out;
    }

    /** {@code rows} (B × T) as one flat array of 0 and 1. */
    static long[] flatten(boolean[][] rows) {
        int t = rows.length == 0 ? 0 : rows[0].length;
        long[] out = new long[rows.length * t];
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < t; i++) {
                out[r * t + i] = rows[r][i] ? 1 : 0;
            }
        }
        return out;
    }
}
