package dev.lmspark.spark.ml;

import dev.lmspark.data.collate.Example;
import dev.lmspark.spark.data.DatasetColumns;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Rows of finished examples: {@code split}, {@code doc_id}, {@code seq} (the example's key), then
 * the shard columns of {@code docs/dataset-format.md} (without {@code example_id}, which the
 * shuffle assigns).
 */
public final class ExampleRows {
    private ExampleRows() {}

    /** The schema, with the optional columns that apply. */
    public static StructType schema(boolean wordStart, boolean nsp, boolean targets) {
        var ints = DataTypes.createArrayType(DataTypes.IntegerType, false);
        var bytes = DataTypes.createArrayType(DataTypes.ByteType, false);
        StructType s =
                new StructType()
                        .add(Sequences.SPLIT, DataTypes.StringType, false)
                        .add(DatasetColumns.DOC_ID, DataTypes.LongType, false)
                        .add(Sequences.SEQ, DataTypes.LongType, false)
                        .add(DatasetColumns.INPUT_IDS, ints, false)
                        .add(DatasetColumns.ATTENTION_MASK, bytes, false)
                        .add(DatasetColumns.TOKEN_TYPE_IDS, bytes, false)
                        .add(DatasetColumns.LABELS, ints, false)
                        .add(DatasetColumns.SPECIAL_TOKENS_MASK, bytes, false);
        if (wordStart) {
            s = s.add(DatasetColumns.WORD_START, bytes, false);
        }
        if (nsp) {
            s = s.add(DatasetColumns.NEXT_SENTENCE_LABEL, DataTypes.ByteType, false);
        }
        if (targets) {
            s = s.add(DatasetColumns.TARGET_IDS, ints, true);
        }
        return s;
    }

    /** A row of {@link #schema}. */
    public static Row row(
            String split, long seq, Example e, boolean wordStart, boolean nsp, boolean targets) {
        List<Object> v = new ArrayList<>(12);
        v.add(split);
        v.add(e.docId());
        v.add(seq);
        v.add(e.inputIds());
        v.add(e.attentionMask());
        v.add(e.tokenTypeIds());
        v.add(e.labels());
        v.add(e.specialTokensMask());
        if (wordStart) {
            v.add(e.wordStart());
        }
        if (nsp) {
            v.add(e.nextSentenceLabel().byteValue());
        }
        if (targets) {
            v.add(e.targetIds());
        }
        return RowFactory.create(v.toArray());
    }
}
