package dev.lmspark.jobs;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.InvalidUtf8;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything {@code prepare} takes, validated on construction (before Spark starts), each error
 * naming its flag and value. Made with {@link #builder()}.
 */
public record PrepareConfig(
        List<String> inputs,
        InputFormat inputFormat,
        String textField,
        String prefixField,
        String targetField,
        String tokenizer,
        boolean lowercase,
        String output,
        Objective objective,
        int maxLength,
        int shards,
        long seed,
        double validationFraction,
        int minChars,
        boolean dedup,
        boolean overwrite,
        boolean incremental,
        MaskingConfig masking,
        boolean nsp,
        double shortSeqProb,
        boolean pack,
        double fimRate,
        double fimSpmRate,
        FimLevel fimLevel,
        PaddingSide paddingSide,
        int partitions,
        boolean stageTiming,
        double maxInvalidUtf8Fraction)
        implements Serializable {

    /** What the dataset trains. */
    public enum Objective {
        MLM,
        CLM,
        MLM_SEQ2SEQ;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Objective fromCliName(String s) {
            for (Objective o : values()) {
                if (o.cliName().equalsIgnoreCase(s)) {
                    return o;
                }
            }
            throw new IllegalArgumentException(
                    "unknown objective '" + s + "'; use mlm, clm or mlm-seq2seq");
        }
    }

    /** Where fill-in-the-middle cuts: whole documents before packing, or packed windows. */
    public enum FimLevel {
        DOCUMENT,
        CONTEXT;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static FimLevel fromCliName(String s) {
            for (FimLevel v : values()) {
                if (v.cliName().equalsIgnoreCase(s)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("--fim-level " + s + " is not document or context");
        }
    }

    /** Which side of a row the padding goes (prediction rows are always left-padded). */
    public enum PaddingSide {
        RIGHT,
        LEFT;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static PaddingSide fromCliName(String s) {
            for (PaddingSide v : values()) {
                if (v.cliName().equalsIgnoreCase(s)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("--padding-side " + s + " is not right or left");
        }
    }

    /** A builder: the inputs, tokenizer and output required, every other setting optional. */
    public static PrepareConfigBuilder builder() {
        return new PrepareConfigBuilder();
    }

    public PrepareConfig {
        InvalidUtf8.checkFraction(maxInvalidUtf8Fraction);
        if (objective == null || fimLevel == null || paddingSide == null || masking == null) {
            throw new BadInputException(
                    "the objective, FIM level, padding side and masking must be given");
        }
        if (inputs == null || inputs.isEmpty()) {
            throw new BadInputException("--input is required: one or more paths or globs");
        }
        inputs.forEach(i -> HadoopPaths.check("--input", i));
        HadoopPaths.check("--output", output);
        HadoopPaths.check("--tokenizer", tokenizer);
        int minimum =
                switch (objective) {
                    case MLM -> nsp ? 5 : 3;
                    case CLM -> 2;
                    case MLM_SEQ2SEQ -> 4;
                };
        if (maxLength < minimum) {
            String form =
                    switch (objective) {
                        case MLM -> nsp ? "[CLS] A [SEP] B [SEP]" : "[CLS] text [SEP]";
                        case CLM -> "a token and EOS";
                        case MLM_SEQ2SEQ -> "[CLS] prefix [SEP] target [SEP]";
                    };
            throw new BadInputException(
                    "--max-length "
                            + maxLength
                            + " is too short for "
                            + form
                            + "; use at least "
                            + minimum);
        }
        if (shards < 1) {
            throw new BadInputException("--shards " + shards + " must be at least 1");
        }
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new BadInputException(
                    "--validation-fraction " + validationFraction + " must be in [0, 1)");
        }
        if (minChars < 0) {
            throw new BadInputException("--min-chars " + minChars + " must be 0 or more");
        }
        if (partitions < 0) {
            throw new BadInputException(
                    "--partitions " + partitions + " must be 0 (automatic) or more");
        }
        if (!(shortSeqProb >= 0 && shortSeqProb <= 1)) {
            throw new BadInputException(
                    "--short-seq-prob " + shortSeqProb + " must be between 0 and 1");
        }
        if (!(fimRate >= 0 && fimRate <= 1)) {
            throw new BadInputException("--fim-rate " + fimRate + " must be between 0 and 1");
        }
        if (!(fimSpmRate >= 0 && fimSpmRate <= 1)) {
            throw new BadInputException(
                    "--fim-spm-rate " + fimSpmRate + " must be between 0 and 1");
        }
        if (fimLevel == FimLevel.CONTEXT && !pack && fimRate > 0) {
            throw new BadInputException(
                    "--fim-level context applies to packed windows; add --pack");
        }
        if (objective != Objective.CLM && (pack || fimRate > 0)) {
            throw new BadInputException("--pack and --fim-rate apply to --objective clm");
        }
        if (objective != Objective.MLM && nsp) {
            throw new BadInputException("--nsp applies to --objective mlm");
        }
        inputs = List.copyOf(inputs);
    }

    /**
     * The input format: {@code --input-format}, else what the extension of the first input file
     * implies ({@code .gz} looked through).
     */
    public InputFormat formatOf(List<String> files) {
        InputFormat f = inputFormat != null ? inputFormat : InputFormat.fromPath(files.get(0));
        if (objective == Objective.MLM_SEQ2SEQ
                && f != InputFormat.JSONL
                && f != InputFormat.PARQUET) {
            throw new BadInputException(
                    "--objective mlm-seq2seq reads --prefix-field and --target-field;"
                            + " give jsonl or parquet input (found "
                            + f.cliName()
                            + ")");
        }
        return f;
    }

    /** The fields to read from each input record. */
    public List<String> fields() {
        return objective == Objective.MLM_SEQ2SEQ
                ? List.of(prefixField, targetField)
                : List.of(textField);
    }

    /** The column names they are read into. */
    public List<String> columns() {
        return objective == Objective.MLM_SEQ2SEQ ? List.of("prefix", "target") : List.of("text");
    }

    /** The config as the manifest records it. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("inputs", inputs);
        m.put("input_format", inputFormat == null ? "auto" : inputFormat.cliName());
        m.put("text_field", textField);
        if (objective == Objective.MLM_SEQ2SEQ) {
            m.put("prefix_field", prefixField);
            m.put("target_field", targetField);
        }
        m.put("tokenizer", tokenizer);
        m.put("lowercase", lowercase);
        m.put("objective", objective.cliName());
        m.put("max_length", maxLength);
        m.put("shards", shards);
        m.put("seed", seed);
        m.put("validation_fraction", validationFraction);
        m.put("min_chars", minChars);
        m.put("dedup", dedup);
        m.put("padding_side", paddingSide.cliName());
        if (objective == Objective.MLM) {
            m.put("masking", masking.strategy().cliName());
            m.put("mlm_probability", masking.mlmProbability());
            m.put("mask_replace_prob", masking.maskReplaceProb());
            m.put("random_replace_prob", masking.randomReplaceProb());
            m.put("max_predictions", masking.maxPredictions());
            m.put("whole_word_mask", masking.wholeWord());
            m.put("nsp", nsp);
            m.put("short_seq_prob", shortSeqProb);
        }
        if (objective == Objective.CLM) {
            m.put("pack", pack);
            m.put("fim_rate", fimRate);
            m.put("fim_spm_rate", fimSpmRate);
            m.put("fim_level", fimLevel.cliName());
        }
        return m;
    }
}
