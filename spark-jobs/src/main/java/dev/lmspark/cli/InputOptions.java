package dev.lmspark.cli;

import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.InvalidUtf8;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The corpus flags shared by the commands that read one ({@code train-tokenizer}, {@code prepare}).
 */
final class InputOptions {

    @Option(
            names = "--input",
            required = true,
            arity = "1..*",
            paramLabel = "PATH",
            description =
                    "Corpus paths, directories or globs (Hadoop paths; .gz read transparently;"
                            + " files are taken in path order).")
    List<String> inputs;

    @Option(
            names = "--input-format",
            paramLabel = "lines|paragraphs|jsonl|parquet",
            converter = Converters.InputFormats.class,
            description =
                    "How files hold documents (default: from the first file's extension:"
                            + " .jsonl/.json, .parquet, else lines).")
    InputFormat inputFormat;

    @Option(
            names = {"--text-field", "--text-column"},
            paramLabel = "NAME",
            description = "JSON field or Parquet column with the text (default: ${DEFAULT-VALUE}).")
    String textField = "text";

    @Option(
            names = "--max-invalid-utf8-fraction",
            paramLabel = "F",
            description =
                    "Refuse the input when malformed UTF-8 sequences exceed this share of its"
                            + " characters (default: 1, only warn with the count and share).")
    double maxInvalidUtf8Fraction = InvalidUtf8.NO_LIMIT;
}
