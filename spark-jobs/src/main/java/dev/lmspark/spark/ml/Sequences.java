package dev.lmspark.spark.ml;

import dev.lmspark.data.collate.Segment;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The rows passed between stages, and conversions between Spark rows and Java arrays. */
public final class Sequences {
    private Sequences() {}

    public static final String SPLIT = "split";
    public static final String SEQ = "seq";
    public static final String IDS = "ids";
    public static final String TYPE_IDS = "type_ids";

    /** split, doc_id, seq, ids, word_start, type_ids, next_sentence_label. */
    public static final StructType SCHEMA =
            new StructType()
                    .add(SPLIT, DataTypes.StringType, false)
                    .add(DatasetColumns.DOC_ID, DataTypes.LongType, false)
                    .add(SEQ, DataTypes.LongType, false)
                    .add(IDS, DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                    .add(
                            DatasetColumns.WORD_START,
                            DataTypes.createArrayType(DataTypes.BooleanType, false),
                            true)
                    .add(TYPE_IDS, DataTypes.createArrayType(DataTypes.ByteType, false), true)
                    .add(DatasetColumns.NEXT_SENTENCE_LABEL, DataTypes.IntegerType, true);

    /** A sequence row. */
    public static Row row(
            String split,
            long docId,
            long seq,
            int[] ids,
            boolean[] wordStart,
            byte[] typeIds,
            Integer nsp) {
        return RowFactory.create(split, docId, seq, ids, wordStart, typeIds, nsp);
    }

    /** A sequence row from a segment (word starts kept). */
    public static Row row(
            String split, long docId, long seq, Segment s, byte[] typeIds, Integer nsp) {
        return row(split, docId, seq, s.ids(), s.wordStart(), typeIds, nsp);
    }

    // Array columns arrive as Scala sequences, Java lists, or — when Spark's optimizer removes the
    // serialization between two stages — as the very Java arrays the previous stage wrote.

    public static int[] ints(Row row, int i) {
        return toInts(row.get(i));
    }

    public static boolean[] booleans(Row row, int i) {
        return row.isNullAt(i) ? null : toBooleans(row.get(i));
    }

    public static byte[] bytes(Row row, int i) {
        if (row.isNullAt(i)) {
            return null;
        }
        Object o = row.get(i);
        if (o instanceof byte[] b) {
            return b;
        }
        List<Byte> list = javaList(o);
        byte[] out = new byte[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = list.get(k);
        }
        return out;
    }

    /** The column's list of int arrays (tokenized sentences). */
    public static int[][] intArrays(Row row, int i) {
        Object o = row.get(i);
        if (o instanceof int[][] a) {
            return a;
        }
        List<Object> lists = javaList(o);
        int[][] out = new int[lists.size()][];
        for (int k = 0; k < out.length; k++) {
            out[k] = toInts(lists.get(k));
        }
        return out;
    }

    public static boolean[][] booleanArrays(Row row, int i) {
        Object o = row.get(i);
        if (o instanceof boolean[][] a) {
            return a;
        }
        List<Object> lists = javaList(o);
        boolean[][] out = new boolean[lists.size()][];
        for (int k = 0; k < out.length; k++) {
            out[k] = toBooleans(lists.get(k));
        }
        return out;
    }

    private static int[] toInts(Object o) {
        if (o instanceof int[] a) {
            return a;
        }
        List<Integer> list = javaList(o);
        int[] out = new int[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = list.get(k);
        }
        return out;
    }

    private static boolean[] toBooleans(Object o) {
        if (o instanceof boolean[] a) {
            return a;
        }
        List<Boolean> list = javaList(o);
        boolean[] out = new boolean[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = list.get(k);
        }
        return out;
    }

    /** An inner array of a nested array column: Spark hands it over as a Scala sequence. */
    @SuppressWarnings("unchecked")
    static <T> List<T> javaList(Object o) {
        if (o instanceof List<?> l) {
            return (List<T>) l;
        }
        return (List<T>)
                scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Object>) o);
    }

    /** Split codes used in random keys. */
    public static long splitCode(String split) {
        return switch (split) {
            case "train" -> 0;
            case "validation" -> 1;
            case "predict" -> 2;
            default -> 3;
        };
    }
}
