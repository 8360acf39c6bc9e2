package dev.lmspark.spark.data;

import java.util.List;
import org.apache.parquet.column.ColumnReader;
import org.apache.parquet.column.impl.ColumnReadStoreImpl;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.DummyRecordConverter;
import org.apache.parquet.schema.MessageType;

/**
 * Decodes one row group of a shard into {@link Examples} with Parquet's column readers, checking
 * the contract as it goes: no nulls, every array exactly {@code max_length} long, and every row's
 * {@code example_id} the one its position implies. A breach is a {@link ContractError} whose
 * message the reader completes with the file's name.
 */
final class RowGroupDecoder {
    private RowGroupDecoder() {}

    /** A shard whose content breaks the contract; the message is completed with the file. */
    static final class ContractError extends RuntimeException {
        ContractError(String message) {
            super(message, null, false, false);
        }
    }

    /** Whether {@code column} holds a list of {@code max_length} values a row. */
    static boolean isArray(String column) {
        return !column.equals(DatasetColumns.EXAMPLE_ID)
                && !column.equals(DatasetColumns.DOC_ID)
                && !column.equals(DatasetColumns.NEXT_SENTENCE_LABEL);
    }

    /** Whether {@code column} is INT64 (the ids) rather than INT32. */
    static boolean isWide(String column) {
        return column.equals(DatasetColumns.EXAMPLE_ID) || column.equals(DatasetColumns.DOC_ID);
    }

    /**
     * Row group {@code g} of {@code file}, whose first row has example_id {@code firstId}.
     *
     * @param columns the split's columns, in the order of {@code file.descriptors}
     * @param length the dataset's {@code max_length}
     */
    static Examples decode(
            ShardFile file,
            PageReadStore pages,
            int g,
            List<String> columns,
            int length,
            long firstId) {
        if (pages == null) {
            throw new ContractError("row group " + g + " is missing");
        }
        int rows = Math.toIntExact(pages.getRowCount());
        MessageType schema = file.footer.getFileMetaData().getSchema();
        ColumnReadStoreImpl store =
                new ColumnReadStoreImpl(
                        pages,
                        new DummyRecordConverter(schema).getRootConverter(),
                        schema,
                        file.footer.getFileMetaData().getCreatedBy());
        Examples out =
                Examples.allocate(
                        rows,
                        length,
                        columns.contains(DatasetColumns.WORD_START),
                        columns.contains(DatasetColumns.NEXT_SENTENCE_LABEL),
                        columns.contains(DatasetColumns.TARGET_IDS));
        for (int c = 0; c < columns.size(); c++) {
            String column = columns.get(c);
            Object target =
                    switch (column) {
                        case DatasetColumns.EXAMPLE_ID -> out.exampleId();
                        case DatasetColumns.DOC_ID -> out.docId();
                        case DatasetColumns.NEXT_SENTENCE_LABEL -> out.nextSentenceLabel();
                        case DatasetColumns.INPUT_IDS -> out.inputIds();
                        case DatasetColumns.LABELS -> out.labels();
                        case DatasetColumns.TARGET_IDS -> out.targetIds();
                        case DatasetColumns.ATTENTION_MASK -> out.attentionMask();
                        case DatasetColumns.TOKEN_TYPE_IDS -> out.tokenTypeIds();
                        case DatasetColumns.SPECIAL_TOKENS_MASK -> out.specialTokensMask();
                        case DatasetColumns.WORD_START -> out.wordStart();
                        default -> throw new IllegalStateException(column);
                    };
            column(
                    store.getColumnReader(file.descriptors.get(c)),
                    rows,
                    isArray(column) ? length : 0,
                    target,
                    column,
                    g);
        }
        long[] ids = out.exampleId();
        for (int i = 0; i < rows; i++) {
            if (ids[i] != firstId + i) {
                throw new ContractError(
                        "row "
                                + i
                                + " of row group "
                                + g
                                + " has example_id "
                                + ids[i]
                                + " where the manifest implies "
                                + (firstId + i)
                                + "; the file does not match the manifest (run lmspark verify)");
            }
        }
        return out;
    }

    /*
     * A column is one stream of (repetition level, definition level, value). For a list column,
     * repetition level 0 starts a row; a value is present where the definition level is the
     * column's maximum (a lower one is a null or empty list, or a null element, none of which the
     * contract allows). Every row holds exactly `length` values (a scalar column: one, length 0).
     */

    /**
     * Decodes one column of {@code rows} rows into {@code out} (a {@code long[]}, {@code int[]} or
     * {@code byte[]}): {@code length} values a row for a list column, one for a scalar ({@code
     * length} 0).
     */
    private static void column(
            ColumnReader r, int rows, int length, Object out, String column, int g) {
        int maxDef = r.getDescriptor().getMaxDefinitionLevel();
        int perRow = length == 0 ? 1 : length;
        long total = r.getTotalValueCount();
        if (total != (long) rows * perRow) {
            throw length == 0
                    ? new ContractError(
                            "column "
                                    + column
                                    + " of row group "
                                    + g
                                    + " has "
                                    + total
                                    + " values for "
                                    + rows
                                    + " rows")
                    : wrongLength(column, g, total, rows, length);
        }
        long[] longs = out instanceof long[] l ? l : null;
        int[] ints = out instanceof int[] i ? i : null;
        byte[] bytes = out instanceof byte[] b ? b : null;
        int k = 0;
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < perRow; i++) {
                if (r.getCurrentDefinitionLevel() != maxDef) {
                    throw length == 0 ? nullValue(column, g, row) : badRow(column, g, row, length);
                }
                if (length > 0 && (r.getCurrentRepetitionLevel() == 0) != (i == 0)) {
                    throw badRow(column, g, row, length);
                }
                if (ints != null) {
                    ints[k++] = r.getInteger();
                } else if (bytes != null) {
                    bytes[k++] = (byte) r.getInteger();
                } else {
                    longs[k++] = r.getLong();
                }
                r.consume();
            }
        }
    }

    private static ContractError nullValue(String column, int g, int row) {
        return new ContractError(
                "row " + row + " of row group " + g + " has no " + column + " (null)");
    }

    private static ContractError wrongLength(
            String column, int g, long total, int rows, int length) {
        return new ContractError(
                "column "
                        + column
                        + " of row group "
                        + g
                        + " has "
                        + total
                        + " entries for "
                        + rows
                        + " rows of max_length "
                        + length
                        + "; every row must hold exactly max_length");
    }

    private static ContractError badRow(String column, int g, int row, int length) {
        return new ContractError(
                "row "
                        + row
                        + " of row group "
                        + g
                        + ": "
                        + column
                        + " is null, or does not hold exactly max_length "
                        + length
                        + " entries");
    }
}
