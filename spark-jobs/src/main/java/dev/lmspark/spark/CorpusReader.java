package dev.lmspark.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * Reads a corpus — Hadoop paths or globs, gzip looked through — as a dataset of document texts,
 * blank documents dropped.
 *
 * @param inputs paths or globs
 * @param format how files hold documents
 * @param textField the JSON field or Parquet column holding the text
 */
public record CorpusReader(List<String> inputs, InputFormat format, String textField) {
    private static final Pattern BLANK_LINES = Pattern.compile("\\r?\\n[ \\t]*\\r?\\n\\s*");

    /** Checks the inputs; with a null format, infers it from the first input's extension. */
    public CorpusReader {
        if (inputs == null || inputs.isEmpty()) {
            throw new BadInputException("--input is required: one or more paths or globs");
        }
        for (String input : inputs) {
            HadoopPaths.check("--input", input);
        }
        inputs = List.copyOf(inputs);
        if (format == null) {
            format = InputFormat.fromPath(inputs.get(0));
        }
        if (textField == null || textField.isBlank()) {
            throw new BadInputException(
                    "--text-field is empty; name the field that holds the text");
        }
    }

    /** The documents. */
    public Dataset<String> read(SparkSession spark) {
        String[] paths = inputs.toArray(String[]::new);
        try {
            return switch (format) {
                case LINES -> nonBlank(spark.read().text(paths).as(Encoders.STRING()));
                case PARAGRAPHS ->
                        spark.read()
                                .option("wholetext", true)
                                .text(paths)
                                .as(Encoders.STRING())
                                .flatMap(
                                        (FlatMapFunction<String, String>)
                                                file -> paragraphs(file).iterator(),
                                        Encoders.STRING());
                case JSONL -> {
                    String field = textField;
                    yield spark.read()
                            .text(paths)
                            .select(col("value"), input_file_name())
                            .mapPartitions(
                                    (MapPartitionsFunction<Row, String>)
                                            rows -> jsonTexts(rows, field),
                                    Encoders.STRING());
                }
                case PARQUET -> parquet(spark, paths);
            };
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            // Scala throws the checked AnalysisException (a missing path, say) undeclared.
            String why = e instanceof AnalysisException a ? a.getSimpleMessage() : e.toString();
            throw new BadInputException(
                    "cannot read --input " + String.join(",", inputs) + ": " + why, e);
        }
    }

    private Dataset<String> parquet(SparkSession spark, String[] paths) {
        Dataset<Row> table = spark.read().parquet(paths);
        StructField column =
                Arrays.stream(table.schema().fields())
                        .filter(f -> f.name().equals(textField))
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new BadInputException(
                                                "--text-column '"
                                                        + textField
                                                        + "' is not in the Parquet input; its"
                                                        + " columns are "
                                                        + String.join(", ", table.columns())));
        if (!column.dataType().equals(DataTypes.StringType)) {
            throw new BadInputException(
                    "--text-column '"
                            + textField
                            + "' has type "
                            + column.dataType().simpleString()
                            + "; it must be a string column");
        }
        return nonBlank(table.select(table.col(textField)).as(Encoders.STRING()));
    }

    private static Dataset<String> nonBlank(Dataset<String> docs) {
        return docs.filter(
                (org.apache.spark.api.java.function.FilterFunction<String>)
                        s -> s != null && !s.isBlank());
    }

    static List<String> paragraphs(String file) {
        List<String> out = new ArrayList<>();
        for (String p : BLANK_LINES.split(file)) {
            String t = p.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    private static Iterator<String> jsonTexts(Iterator<Row> rows, String field) {
        ObjectMapper json = new ObjectMapper();
        List<String> out = new ArrayList<>();
        while (rows.hasNext()) {
            Row row = rows.next();
            String line = row.getString(0);
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (Exception e) {
                throw new BadInputException(
                        row.getString(1)
                                + " has a line that is not valid JSON: "
                                + preview(line)
                                + "; fix the file, or use --input-format lines for plain text");
            }
            JsonNode text = node == null ? null : node.get(field);
            if (text == null || !text.isTextual()) {
                throw new BadInputException(
                        row.getString(1)
                                + " has a JSON line without a string field '"
                                + field
                                + "': "
                                + preview(line)
                                + "; name the text field with --text-field");
            }
            if (!text.asText().isBlank()) {
                out.add(text.asText());
            }
        }
        return out.iterator();
    }

    private static String preview(String line) {
        return line.length() <= 80 ? line : line.substring(0, 77) + "...";
    }
}
