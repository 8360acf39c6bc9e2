package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * A batch of rows of a prepared dataset, as the shard columns hold them: B rows of T tokens,
 * row-major host arrays. {@code labels} are -100 where nothing is predicted (MLM: the original id
 * at masked positions; CLM: the input ids where the attention mask is 1 — the model shifts). {@code
 * tokenTypeIds} and {@code nextSentenceLabel} may be null (no segments; no NSP column).
 *
 * @param rows B
 * @param length T
 * @param inputIds (B, T) token ids
 * @param attentionMask (B, T) 1 real token, 0 padding
 * @param tokenTypeIds (B, T) segment ids, or null
 * @param labels (B, T) ids to predict, -100 elsewhere
 * @param nextSentenceLabel (B) 0 = B follows A, 1 = random; null when the dataset has no NSP
 */
public record ShardBatch(
        int rows,
        int length,
        int[] inputIds,
        byte[] attentionMask,
        byte[] tokenTypeIds,
        int[] labels,
        byte[] nextSentenceLabel) {

    /** The label of positions that predict nothing. */
    public static final int IGNORE = -100;

    /** Checks every array's length against B×T (or B). */
    public ShardBatch {
        if (rows < 1 || length < 1) {
            throw new IllegalArgumentException(
                    "a batch of " + rows + " rows of " + length + " tokens is empty");
        }
        int n = rows * length;
        check("input_ids", inputIds.length, n);
        check("attention_mask", attentionMask.length, n);
        check("labels", labels.length, n);
        if (tokenTypeIds != null) {
            check("token_type_ids", tokenTypeIds.length, n);
        }
        if (nextSentenceLabel != null) {
            check("next_sentence_label", nextSentenceLabel.length, rows);
        }
    }

    private static void check(String column, int actual, int expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(
                    column + " has " + actual + " values; a batch needs " + expected);
        }
    }

    /** Real (non-padding) tokens. */
    public long tokens() {
        long n = 0;
        for (byte a : attentionMask) {
            n += a;
        }
        return n;
    }

    /** Positions with a label (not -100). */
    public long predicted() {
        long n = 0;
        for (int l : labels) {
            n += l != IGNORE ? 1 : 0;
        }
        return n;
    }

    /** Rows {@code [from, to)} as a batch of their own (copies). */
    public ShardBatch slice(int from, int to) {
        if (from < 0 || to > rows || from >= to) {
            throw new IllegalArgumentException(
                    "rows [" + from + ", " + to + ") of a batch of " + rows);
        }
        int a = from * length;
        int b = to * length;
        return new ShardBatch(
                to - from,
                length,
                Arrays.copyOfRange(inputIds, a, b),
                Arrays.copyOfRange(attentionMask, a, b),
                tokenTypeIds == null ? null : Arrays.copyOfRange(tokenTypeIds, a, b),
                Arrays.copyOfRange(labels, a, b),
                nextSentenceLabel == null ? null : Arrays.copyOfRange(nextSentenceLabel, from, to));
    }

    /** The rows of {@code batches} one after another; they must share T and their columns. */
    public static ShardBatch concat(List<ShardBatch> batches) {
        if (batches.size() == 1) {
            return batches.get(0);
        }
        ShardBatch first = batches.get(0);
        int t = first.length;
        int b = 0;
        for (ShardBatch x : batches) {
            if (x.length != t
                    || (x.tokenTypeIds == null) != (first.tokenTypeIds == null)
                    || (x.nextSentenceLabel == null) != (first.nextSentenceLabel == null)) {
                throw new IllegalArgumentException("batches of different shapes or columns");
            }
            b += x.rows;
        }
        int[] ids = new int[b * t];
        byte[] mask = new byte[b * t];
        byte[] types = first.tokenTypeIds == null ? null : new byte[b * t];
        int[] labels = new int[b * t];
        byte[] nsp = first.nextSentenceLabel == null ? null : new byte[b];
        int at = 0;
        for (ShardBatch x : batches) {
            int n = x.rows * t;
            System.arraycopy(x.inputIds, 0, ids, at * t, n);
            System.arraycopy(x.attentionMask, 0, mask, at * t, n);
            if (types != null) {
                System.arraycopy(x.tokenTypeIds, 0, types, at * t, n);
            }
            System.arraycopy(x.labels, 0, labels, at * t, n);
            if (nsp != null) {
                System.arraycopy(x.nextSentenceLabel, 0, nsp, at, x.rows);
            }
            at += x.rows;
        }
        return new ShardBatch(b, t, ids, mask, types, labels, nsp);
    }

    /** {@code input_ids} as int64 {@code (B, T)} on {@code m}. */
    public NDArray inputIds(NDManager m) {
        return ints(m, inputIds);
    }

    /** {@code labels} as int64 {@code (B, T)} on {@code m}. */
    public NDArray labels(NDManager m) {
        return ints(m, labels);
    }

    /** {@code attention_mask} as int64 {@code (B, T)} on {@code m}. */
    public NDArray attentionMask(NDManager m) {
        return bytes(m, attentionMask);
    }

    /** {@code token_type_ids} as int64 {@code (B, T)} on {@code m}, or null. */
    public NDArray tokenTypeIds(NDManager m) {
        return tokenTypeIds == null ? null : bytes(m, tokenTypeIds);
    }

    /** {@code next_sentence_label} as int64 {@code (B)} on {@code m}, or null. */
    public NDArray nextSentenceLabels(NDManager m) {
        if (nextSentenceLabel == null) {
            return null;
        }
        long[] v = new long[rows];
        for (int i = 0; i < rows; i++) {
            v[i] = nextSentenceLabel[i];
        }
        return m.create(v, new Shape(rows));
    }

    /**
     * Position ids {@code (B, T)} counted from each row's first real token when some row is
     * left-padded; null (the default 0…T−1) when every row starts with a real token.
     */
    public NDArray positionIds(NDManager m) {
        boolean leftPadded = false;
        for (int r = 0; r < rows && !leftPadded; r++) {
            leftPadded = attentionMask[r * length] == 0 && tokensIn(r) > 0;
        }
        if (!leftPadded) {
            return null;
        }
        // Hugging Face's cumsum(mask) − 1, clipped at 0: padding before the first real token sits
        // at 0 (its keys are masked out, its outputs unused).
        long[] v = new long[rows * length];
        for (int r = 0; r < rows; r++) {
            long seen = 0;
            for (int i = 0; i < length; i++) {
                seen += attentionMask[r * length + i];
                v[r * length + i] = Math.max(0, seen - 1);
            }
        }
        return m.create(v, new Shape(rows, length));
    }

    private int tokensIn(int row) {
        int n = 0;
        for (int i = 0; i < length; i++) {
            n += attentionMask[row * length + i];
        }
        return n;
    }

    private NDArray ints(NDManager m, int[] values) {
        return m.create(values, new Shape(rows, length)).toType(DataType.INT64, false);
    }

    private NDArray bytes(NDManager m, byte[] values) {
        long[] v = new long[values.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i];
        }
        return m.create(v, new Shape(rows, length));
    }
}
