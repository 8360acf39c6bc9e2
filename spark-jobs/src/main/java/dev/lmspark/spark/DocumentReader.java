package dev.lmspark.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads documents with their index: the position of the document in the input files sorted by path
 * (blank documents not counted), which every random choice downstream is keyed on. The index does
 * not depend on how Spark splits the files: each file is read on its own, in path order, and {@code
 * zipWithIndex} numbers the union.
 *
 * <p>Text is decoded as UTF-8 with malformed bytes replaced by U+FFFD, and the replacements are
 * counted per document. Output columns: {@code doc_id} (long), the requested fields as strings,
 * {@code replacements} (int).
 */
public final class DocumentReader implements Serializable {
    private static final long serialVersionUID = 1L;

    private final InputFormat format;
    private final List<String> fields;
    private transient JavaRDD<String[]> parsed;

    /**
     * @param format how files hold documents ({@code lines} and {@code paragraphs} have one field)
     * @param fields JSON fields or Parquet columns to read, in order (the document text, or prefix
     *     and target)
     */
    public DocumentReader(InputFormat format, List<String> fields) {
        this.format = format;
        this.fields = List.copyOf(fields);
        if ((format == InputFormat.LINES || format == InputFormat.PARAGRAPHS)
                && fields.size() != 1) {
            throw new BadInputException(
                    "--input-format "
                            + format.cliName()
                            + " holds plain text only; prefix and target"
                            + " fields need jsonl or parquet input");
        }
    }

    /** The schema of {@link #read}, with the fields named {@code columns}. */
    public static StructType schema(List<String> columns) {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField("doc_id", DataTypes.LongType, false));
        for (String c : columns) {
            f.add(DataTypes.createStructField(c, DataTypes.StringType, false));
        }
        f.add(DataTypes.createStructField("replacements", DataTypes.IntegerType, false));
        return DataTypes.createStructType(f);
    }

    /**
     * Reads {@code files} (sorted by path) into rows named {@code columns}; {@code firstIndex} is
     * the index of the first document (non-zero for increments).
     */
    public Dataset<Row> read(
            SparkSession spark,
            List<InputFiles.File> files,
            List<String> columns,
            long firstIndex) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<JavaRDD<String[]>> parts = new ArrayList<>();
        for (InputFiles.File file : files) {
            parts.add(readFile(spark, sc, file.path()));
        }
        JavaRDD<String[]> all =
                parts.isEmpty()
                        ? sc.emptyRDD()
                        : parts.size() == 1
                                ? parts.get(0)
                                : sc.union(parts.toArray(JavaRDD[]::new));
        // zipWithIndex counts every partition first: parse once, keep the parsed documents.
        all = all.persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        parsed = all;
        JavaRDD<Row> rows =
                all.zipWithIndex()
                        .map(
                                t -> {
                                    String[] values = t._1();
                                    Object[] row = new Object[values.length + 1];
                                    row[0] = firstIndex + t._2();
                                    System.arraycopy(values, 0, row, 1, values.length - 1);
                                    row[values.length] =
                                            Integer.parseInt(values[values.length - 1]);
                                    return RowFactory.create(row);
                                });
        return spark.createDataFrame(rows, schema(columns));
    }

    /**
     * The first field of every document of {@code files}, without indices (for jobs where order
     * does not matter, such as counting words).
     */
    public JavaRDD<String> texts(SparkSession spark, List<InputFiles.File> files) {
        return documents(spark, files).map(values -> values[0]);
    }

    /**
     * The first field's documents as {text, invalid UTF-8 replacement count}, in file order, not
     * indexed.
     */
    public JavaRDD<String[]> documents(SparkSession spark, List<InputFiles.File> files) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<JavaRDD<String[]>> parts = new ArrayList<>();
        for (InputFiles.File file : files) {
            parts.add(
                    readFile(spark, sc, file.path())
                            .map(v -> new String[] {v[0], v[v.length - 1]}));
        }
        return parts.size() == 1 ? parts.get(0) : sc.union(parts.toArray(JavaRDD[]::new));
    }

    /** Drops the cached parse of the last {@link #read}, once its result is cached or written. */
    public void release() {
        if (parsed != null) {
            parsed.unpersist(false);
            parsed = null;
        }
    }

    /** Documents of one file as {field values…, replacement count}. */
    @SuppressWarnings("unchecked")
    private JavaRDD<String[]> readFile(SparkSession spark, JavaSparkContext sc, String path) {
        List<String> f = fields;
        return switch (format) {
            case LINES ->
                    lines(sc, path)
                            .filter(d -> !d.text.isBlank())
                            .map(d -> new String[] {d.text, Integer.toString(d.replacements)});
            case JSONL ->
                    lines(sc, path)
                            .filter(d -> !d.text.isBlank())
                            .mapPartitions(it -> json(it, path, f));
            case PARAGRAPHS ->
                    sc.binaryFiles(path, 1)
                            .values()
                            .flatMap(stream -> paragraphs(stream).iterator());
            case PARQUET -> parquet(spark, path);
        };
    }

    private record Decoded(String text, int replacements) implements Serializable {}

    private static JavaRDD<Decoded> lines(JavaSparkContext sc, String path) {
        return sc.newAPIHadoopFile(
                        path,
                        TextInputFormat.class,
                        LongWritable.class,
                        Text.class,
                        sc.hadoopConfiguration())
                .values()
                .map(t -> decode(t.getBytes(), t.getLength()));
    }

    /** UTF-8 with malformed input replaced by U+FFFD, counting the replacements. */
    static Decoded decode(byte[] bytes, int length) {
        CharsetDecoder decoder =
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
        CharBuffer out = CharBuffer.allocate(length + 16);
        int replacements = 0;
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isUnderflow()) {
                decoder.flush(out);
                break;
            }
            if (r.isOverflow()) {
                CharBuffer bigger = CharBuffer.allocate(out.capacity() * 2);
                out.flip();
                bigger.put(out);
                out = bigger;
                continue;
            }
            // Malformed or unmappable: skip those bytes, write one replacement character.
            in.position(in.position() + r.length());
            if (!out.hasRemaining()) {
                CharBuffer bigger = CharBuffer.allocate(out.capacity() * 2);
                out.flip();
                bigger.put(out);
                out = bigger;
            }
            out.put('\uFFFD');
            replacements++;
        }
        out.flip();
        return new Decoded(out.toString(), replacements);
    }

    private static Iterator<String[]> json(
            Iterator<Decoded> lines, String path, List<String> fields) {
        ObjectMapper json = new ObjectMapper();
        List<String[]> out = new ArrayList<>();
        while (lines.hasNext()) {
            Decoded line = lines.next();
            JsonNode node;
            try {
                node = json.readTree(line.text);
            } catch (IOException e) {
                throw new BadInputException(
                        path
                                + " has a line that is not valid JSON: "
                                + preview(line.text)
                                + "; fix the file, or use --input-format lines for plain text");
            }
            String[] values = new String[fields.size() + 1];
            boolean blank = true;
            for (int i = 0; i < fields.size(); i++) {
                JsonNode v = node == null ? null : node.get(fields.get(i));
                if (v == null || !v.isTextual()) {
                    throw new BadInputException(
                            path
                                    + " has a JSON line without a string field '"
                                    + fields.get(i)
                                    + "': "
                                    + preview(line.text)
                                    + "; name the field with the matching --…-field flag");
                }
                values[i] = v.asText();
                blank &= values[i].isBlank();
            }
            values[fields.size()] = Integer.toString(line.replacements);
            if (!blank) {
                out.add(values);
            }
        }
        return out.iterator();
    }

    private static List<String[]> paragraphs(PortableDataStream stream) throws IOException {
        byte[] bytes;
        CompressionCodec codec =
                new CompressionCodecFactory(stream.getConfiguration())
                        .getCodec(new org.apache.hadoop.fs.Path(stream.getPath()));
        try (InputStream raw = stream.open();
                InputStream in = codec == null ? raw : codec.createInputStream(raw)) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            in.transferTo(buffer);
            bytes = buffer.toByteArray();
        }
        Decoded all = decode(bytes, bytes.length);
        List<String[]> out = new ArrayList<>();
        for (String p : all.text.split("\\r?\\n[ \\t]*\\r?\\n\\s*")) {
            String t = p.strip();
            if (!t.isEmpty()) {
                int replacements = (int) t.chars().filter(c -> c == '\uFFFD').count();
                out.add(new String[] {t, Integer.toString(replacements)});
            }
        }
        return out;
    }

    private JavaRDD<String[]> parquet(SparkSession spark, String path) {
        Dataset<Row> table = spark.read().parquet(path);
        for (String field : fields) {
            StructField column =
                    Arrays.stream(table.schema().fields())
                            .filter(c -> c.name().equals(field))
                            .findFirst()
                            .orElseThrow(
                                    () ->
                                            new BadInputException(
                                                    "column '"
                                                            + field
                                                            + "' (--text-column or --prefix-field/--target-field) is not in "
                                                            + path
                                                            + "; its columns are "
                                                            + String.join(", ", table.columns())));
            if (!column.dataType().equals(DataTypes.StringType)) {
                throw new BadInputException(
                        "column '"
                                + field
                                + "' of "
                                + path
                                + " has type "
                                + column.dataType().simpleString()
                                + "; it must be a string column");
            }
        }
        int n = fields.size();
        return table.select(
                        fields.stream().map(table::col).toArray(org.apache.spark.sql.Column[]::new))
                .javaRDD()
                .map(
                        row -> {
                            String[] values = new String[n + 1];
                            boolean blank = true;
                            for (int i = 0; i < n; i++) {
                                values[i] = row.isNullAt(i) ? "" : row.getString(i);
                                blank &= values[i].isBlank();
                            }
                            values[n] = blank ? null : "0";
                            return values;
                        })
                .filter(v -> v[n] != null);
    }

    private static String preview(String line) {
        return line.length() <= 80 ? line : line.substring(0, 77) + "...";
    }
}
