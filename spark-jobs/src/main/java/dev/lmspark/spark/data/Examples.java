package dev.lmspark.spark.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * Rows of a prepared split as flat column arrays, as {@link ExampleReader#read} returns them. Array
 * columns are row-major, {@code rows × length} entries (row r's tokens are {@code [r * length, (r +
 * 1) * length)}); scalar columns have {@code rows} entries. A column the split does not have is
 * null: {@code wordStart} unless the objective is mlm, {@code nextSentenceLabel} unless the dataset
 * has NSP pairs, {@code targetIds} outside mlm-seq2seq's predict split. The arrays are the record's
 * own (not copied on access); do not change them while others read.
 *
 * @param rows examples
 * @param length tokens per example (the dataset's max_length)
 * @param exampleId rows
 * @param inputIds rows × length
 * @param attentionMask rows × length, 1 at real tokens
 * @param tokenTypeIds rows × length
 * @param labels rows × length, -100 where nothing is predicted
 * @param specialTokensMask rows × length
 * @param wordStart rows × length, or null
 * @param nextSentenceLabel rows (0 = B follows A, 1 = B is random), or null
 * @param targetIds rows × length, or null
 * @param docId rows
 */
public record Examples(
        int rows,
        int length,
        long[] exampleId,
        int[] inputIds,
        byte[] attentionMask,
        byte[] tokenTypeIds,
        int[] labels,
        byte[] specialTokensMask,
        byte[] wordStart,
        byte[] nextSentenceLabel,
        int[] targetIds,
        long[] docId)
        implements Serializable {

    /** Checks every array's size against {@code rows} and {@code length}. */
    public Examples {
        if (rows < 0 || length < 1) {
            throw new IllegalArgumentException("rows " + rows + ", length " + length);
        }
        long cells = (long) rows * length;
        check("exampleId", exampleId == null ? -1 : exampleId.length, rows);
        check("inputIds", inputIds == null ? -1 : inputIds.length, cells);
        check("attentionMask", attentionMask == null ? -1 : attentionMask.length, cells);
        check("tokenTypeIds", tokenTypeIds == null ? -1 : tokenTypeIds.length, cells);
        check("labels", labels == null ? -1 : labels.length, cells);
        check(
                "specialTokensMask",
                specialTokensMask == null ? -1 : specialTokensMask.length,
                cells);
        check("docId", docId == null ? -1 : docId.length, rows);
        if (wordStart != null) {
            check("wordStart", wordStart.length, cells);
        }
        if (nextSentenceLabel != null) {
            check("nextSentenceLabel", nextSentenceLabel.length, rows);
        }
        if (targetIds != null) {
            check("targetIds", targetIds.length, cells);
        }
    }

    private static void check(String name, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(
                    name
                            + (actual < 0 ? " is null" : " has " + actual + " entries")
                            + ", expected "
                            + expected);
        }
    }

    /** No rows; the optional columns that are true are present (empty), the others null. */
    public static Examples empty(
            int length, boolean wordStart, boolean nextSentenceLabel, boolean targetIds) {
        return allocate(0, length, wordStart, nextSentenceLabel, targetIds);
    }

    /** Zero-filled arrays for {@code rows} examples. */
    static Examples allocate(
            int rows, int length, boolean wordStart, boolean nextSentenceLabel, boolean targetIds) {
        long cells = (long) rows * length;
        if (cells > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    rows + " rows of " + length + " tokens do not fit one Java array; read less");
        }
        int n = (int) cells;
        return new Examples(
                rows,
                length,
                new long[rows],
                new int[n],
                new byte[n],
                new byte[n],
                new int[n],
                new byte[n],
                wordStart ? new byte[n] : null,
                nextSentenceLabel ? new byte[rows] : null,
                targetIds ? new int[n] : null,
                new long[rows]);
    }

    /** Rows {@code [fromRow, toRow)} as a new, independent {@code Examples}. */
    public Examples slice(int fromRow, int toRow) {
        if (fromRow < 0 || toRow > rows || fromRow > toRow) {
            throw new IndexOutOfBoundsException("rows [" + fromRow + ", " + toRow + ") of " + rows);
        }
        Examples out =
                allocate(
                        toRow - fromRow,
                        length,
                        wordStart != null,
                        nextSentenceLabel != null,
                        targetIds != null);
        copyRows(this, fromRow, out, 0, toRow - fromRow);
        return out;
    }

    /**
     * The rows of {@code parts}, in order, as one {@code Examples}.
     *
     * @throws IllegalArgumentException when parts differ in length or columns, or there are none
     */
    public static Examples concat(List<Examples> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        Examples first = parts.get(0);
        long total = 0;
        for (Examples p : parts) {
            if (p.length != first.length
                    || (p.wordStart == null) != (first.wordStart == null)
                    || (p.nextSentenceLabel == null) != (first.nextSentenceLabel == null)
                    || (p.targetIds == null) != (first.targetIds == null)) {
                throw new IllegalArgumentException(
                        "cannot concatenate examples of different lengths or columns");
            }
            total += p.rows;
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(total + " rows do not fit one Examples");
        }
        Examples out =
                allocate(
                        (int) total,
                        first.length,
                        first.wordStart != null,
                        first.nextSentenceLabel != null,
                        first.targetIds != null);
        int at = 0;
        for (Examples p : parts) {
            copyRows(p, 0, out, at, p.rows);
            at += p.rows;
        }
        return out;
    }

    /** {@link #concat(List)} of the arguments. */
    public static Examples concat(Examples... parts) {
        return concat(Arrays.asList(parts));
    }

    /** Copies {@code n} rows from {@code src} row {@code from} to {@code dst} row {@code to}. */
    static void copyRows(Examples src, int from, Examples dst, int to, int n) {
        int len = src.length;
        int a = from * len;
        int b = to * len;
        int cells = n * len;
        System.arraycopy(src.exampleId, from, dst.exampleId, to, n);
        System.arraycopy(src.docId, from, dst.docId, to, n);
        System.arraycopy(src.inputIds, a, dst.inputIds, b, cells);
        System.arraycopy(src.attentionMask, a, dst.attentionMask, b, cells);
        System.arraycopy(src.tokenTypeIds, a, dst.tokenTypeIds, b, cells);
        System.arraycopy(src.labels, a, dst.labels, b, cells);
        System.arraycopy(src.specialTokensMask, a, dst.specialTokensMask, b, cells);
        if (src.wordStart != null) {
            System.arraycopy(src.wordStart, a, dst.wordStart, b, cells);
        }
        if (src.nextSentenceLabel != null) {
            System.arraycopy(src.nextSentenceLabel, from, dst.nextSentenceLabel, to, n);
        }
        if (src.targetIds != null) {
            System.arraycopy(src.targetIds, a, dst.targetIds, b, cells);
        }
    }

    /** Real (attention-mask 1) tokens over all rows. */
    public long realTokens() {
        long n = 0;
        for (byte a : attentionMask) {
            n += a;
        }
        return n;
    }

    /**
     * Row {@code row}'s {@code int} array column as a copy ({@code inputIds}, {@code labels} …).
     */
    public static int[] row(int[] column, int row, int length) {
        return Arrays.copyOfRange(column, row * length, (row + 1) * length);
    }

    /** Row {@code row}'s {@code byte} array column as a copy. */
    public static byte[] row(byte[] column, int row, int length) {
        return Arrays.copyOfRange(column, row * length, (row + 1) * length);
    }

    /** Equal when every column holds the same values (records compare arrays by identity). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Examples e
                && rows == e.rows
                && length == e.length
                && Arrays.equals(exampleId, e.exampleId)
                && Arrays.equals(inputIds, e.inputIds)
                && Arrays.equals(attentionMask, e.attentionMask)
                && Arrays.equals(tokenTypeIds, e.tokenTypeIds)
                && Arrays.equals(labels, e.labels)
                && Arrays.equals(specialTokensMask, e.specialTokensMask)
                && Arrays.equals(wordStart, e.wordStart)
                && Arrays.equals(nextSentenceLabel, e.nextSentenceLabel)
                && Arrays.equals(targetIds, e.targetIds)
                && Arrays.equals(docId, e.docId);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(exampleId) + Arrays.hashCode(inputIds);
    }

    @Override
    public String toString() {
        return "Examples["
                + rows
                + " rows × "
                + length
                + (rows == 0 ? "" : ", ids " + exampleId[0] + "…" + exampleId[rows - 1])
                + "]";
    }
}
