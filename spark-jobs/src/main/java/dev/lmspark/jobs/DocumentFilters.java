package dev.lmspark.jobs;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.spark.DocumentReader;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.InvalidUtf8;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.ml.Sequences;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * What {@code prepare} keeps of the corpus before tokenizing: {@code --min-chars} drops short
 * documents, {@code --dedup} repeats (by normalised text, the first doc_id kept), and each
 * document's split is drawn from (seed, doc_id); and the count of documents longer than a row.
 */
final class DocumentFilters {
    private DocumentFilters() {}

    /** Drops short documents and (with --dedup) repeats, and adds the split column. */
    static Dataset<Row> filter(Dataset<Row> raw, PrepareConfig c) {
        Dataset<Row> docs = raw;
        if (c.minChars() > 0) {
            docs = docs.filter(functions.not(shortDocs(c.minChars(), c.columns())));
        }
        if (c.dedup()) {
            List<String> cols = c.columns();
            StructType withHash = docs.schema().add("text_hash", DataTypes.StringType, false);
            Dataset<Row> hashed =
                    docs.map(
                            (MapFunction<Row, Row>)
                                    r -> {
                                        StringBuilder b = new StringBuilder();
                                        for (String col : cols) {
                                            b.append(
                                                            normalizeForDedup(
                                                                    r.getString(r.fieldIndex(col))))
                                                    .append('\u0000');
                                        }
                                        Object[] v = new Object[r.length() + 1];
                                        for (int i = 0; i < r.length(); i++) {
                                            v[i] = r.get(i);
                                        }
                                        v[r.length()] =
                                                TokenizerSource.sha256(
                                                        b.toString()
                                                                .getBytes(StandardCharsets.UTF_8));
                                        return RowFactory.create(v);
                                    },
                            Encoders.row(withHash));
            Dataset<Row> first =
                    hashed.groupBy("text_hash")
                            .agg(functions.min(DatasetColumns.DOC_ID).as(DatasetColumns.DOC_ID))
                            .select(DatasetColumns.DOC_ID);
            docs =
                    docs.join(
                            first,
                            docs.col(DatasetColumns.DOC_ID)
                                    .equalTo(first.col(DatasetColumns.DOC_ID)),
                            "left_semi");
        }
        long seed = c.seed();
        double fraction = c.validationFraction();
        StructType schema = docs.schema().add(Sequences.SPLIT, DataTypes.StringType, false);
        return docs.map(
                (MapFunction<Row, Row>)
                        r -> {
                            Object[] v = new Object[r.length() + 1];
                            for (int i = 0; i < r.length(); i++) {
                                v[i] = r.get(i);
                            }
                            v[r.length()] =
                                    Seeds.uniform(seed, PrepareJob.SPLIT_STREAM, r.getLong(0))
                                                    < fraction
                                            ? "validation"
                                            : "train";
                            return RowFactory.create(v);
                        },
                Encoders.row(schema));
    }

    /** Documents whose text columns hold fewer than {@code minChars} characters together. */
    static Column shortDocs(int minChars, List<String> columns) {
        Column length = functions.lit(0);
        for (String c : columns) {
            length = length.plus(functions.char_length(functions.col(c)));
        }
        return length.lt(minChars);
    }

    /** NFC, whitespace runs as one space, trimmed, lowercase: what exact --dedup compares. */
    static String normalizeForDedup(String text) {
        return Normalizer.normalize(text, Normalizer.Form.NFC)
                .strip()
                .replaceAll("\\s+", " ")
                .toLowerCase(java.util.Locale.ROOT);
    }

    /** Documents whose tokens (with specials or EOS) do not fit one window. */
    static long longDocuments(PrepareConfig c, Dataset<Row> tokenized) {
        if (c.objective() == PrepareConfig.Objective.MLM_SEQ2SEQ || tokenized == null) {
            return 0;
        }
        String col = c.objective() == PrepareConfig.Objective.MLM ? "sentences" : "tokens";
        int extra = c.objective() == PrepareConfig.Objective.MLM ? 2 : 1;
        int window = c.maxLength();
        return tokenized
                .filter(
                        (FilterFunction<Row>)
                                r -> {
                                    int n = 0;
                                    if (c.objective() == PrepareConfig.Objective.MLM) {
                                        for (int[] s : Sequences.intArrays(r, r.fieldIndex(col))) {
                                            n += s.length;
                                        }
                                    } else {
                                        n = Sequences.ints(r, r.fieldIndex(col)).length;
                                    }
                                    return n + extra > window;
                                })
                .count();
    }

    /**
     * The documents {@code prepare} keeps, cached, with their counts.
     *
     * @param docs the kept documents with their split column (persisted; the caller unpersists)
     * @param read documents read
     * @param kept documents kept
     * @param tooShort documents under {@code --min-chars}
     * @param replacements invalid UTF-8 sequences replaced
     * @param docsPerSplit kept documents by split
     */
    record Kept(
            Dataset<Row> docs,
            long read,
            long kept,
            long tooShort,
            long replacements,
            Map<String, Long> docsPerSplit) {}

    /**
     * Reads {@code files} (doc_ids from {@code firstDoc}), filters them and counts what was kept.
     *
     * @throws BadInputException when the input holds no document, or none is left
     */
    static Kept read(
            SparkSession spark,
            PrepareConfig c,
            List<InputFiles.File> files,
            long firstDoc,
            PrintWriter progress) {
        DocumentReader reader =
                new DocumentReader(
                        c.formatOf(files.stream().map(InputFiles.File::path).toList()), c.fields());
        Dataset<Row> raw = reader.read(spark, files, c.columns(), firstDoc);
        if (c.partitions() > 0) {
            raw = raw.repartition(c.partitions());
        }
        // Filtering needs the count before it; otherwise one pass over the kept documents does.
        boolean filtering = c.minChars() > 0 || c.dedup();
        long read = -1;
        long tooShort = 0;
        if (filtering) {
            raw = raw.persist(StorageLevel.MEMORY_AND_DISK());
            read = raw.count();
            tooShort =
                    c.minChars() > 0
                            ? raw.filter(DocumentFilters.shortDocs(c.minChars(), c.columns()))
                                    .count()
                            : 0;
        }
        Dataset<Row> docs = DocumentFilters.filter(raw, c).persist(StorageLevel.MEMORY_AND_DISK());
        Map<String, Long> docsPerSplit = new TreeMap<>();
        long replacements = 0;
        long characters = 0;
        Column length =
                c.columns().stream()
                        .map(
                                col ->
                                        functions.coalesce(
                                                functions.length(functions.col(col)),
                                                functions.lit(0)))
                        .reduce(Column::plus)
                        .orElseThrow();
        for (Row r :
                docs.groupBy(Sequences.SPLIT)
                        .agg(
                                functions.count(functions.lit(1)),
                                functions.sum("replacements"),
                                functions.sum(length))
                        .collectAsList()) {
            docsPerSplit.put(r.getString(0), r.getLong(1));
            replacements += r.isNullAt(2) ? 0 : r.getLong(2);
            characters += r.isNullAt(3) ? 0 : r.getLong(3);
        }
        InvalidUtf8.report(
                "prepare",
                c.inputs(),
                replacements,
                characters,
                c.maxInvalidUtf8Fraction(),
                progress);
        long kept = docsPerSplit.values().stream().mapToLong(Long::longValue).sum();
        reader.release();
        if (filtering) {
            raw.unpersist();
        } else {
            read = kept;
        }
        if (read == 0) {
            throw new BadInputException(
                    "--input "
                            + String.join(",", c.inputs())
                            + " holds no documents (every line or record is blank); check the"
                            + " paths and --input-format");
        }
        return new Kept(docs, read, kept, tooShort, replacements, docsPerSplit);
    }
}
