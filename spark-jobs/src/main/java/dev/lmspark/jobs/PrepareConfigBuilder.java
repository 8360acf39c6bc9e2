package dev.lmspark.jobs;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.spark.InputFormat;
import dev.lmspark.spark.InvalidUtf8;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link PrepareConfig} the way DJL's builders do: {@code set…} for what is required (the
 * inputs, the tokenizer and the output), {@code opt…} for the rest with the default written here
 * once — the command line shows and uses these ({@link #defaults}); {@link #build} checks the whole
 * and names the flag at fault.
 */
public final class PrepareConfigBuilder {
    private List<String> inputs;
    private InputFormat inputFormat;
    private String textField = "text";
    private String prefixField = "prefix";
    private String targetField = "target";
    private String tokenizer;
    private boolean lowercase;
    private String output;
    private PrepareConfig.Objective objective = PrepareConfig.Objective.MLM;
    private int maxLength = 128;
    private int shards = 8;
    private long seed = 42;
    private double validationFraction = 0.01;
    private int minChars;
    private boolean dedup;
    private boolean overwrite;
    private boolean incremental;
    private MaskingConfig.Strategy masking = MaskingConfig.Strategy.BERNOULLI;
    private double mlmProbability = 0.15;
    private double maskReplaceProb = 0.8;
    private double randomReplaceProb = 0.1;
    private int maxPredictions;
    private boolean wholeWordMask;
    private boolean nsp;
    private double shortSeqProb = 0.1;
    private boolean pack;
    private double fimRate;
    private double fimSpmRate = 0.5;
    private PrepareConfig.FimLevel fimLevel = PrepareConfig.FimLevel.DOCUMENT;
    private PrepareConfig.PaddingSide paddingSide = PrepareConfig.PaddingSide.RIGHT;
    private int partitions;
    private boolean stageTiming;
    private double maxInvalidUtf8Fraction = InvalidUtf8.NO_LIMIT;

    PrepareConfigBuilder() {}

    /**
     * The defaults of {@code prepare}'s own options that have one, by flag: the command line's
     * {@code --help} and values come from here (the corpus flags shared with {@code
     * train-tokenizer} keep theirs in the shared options).
     */
    public static Map<String, String> defaults() {
        PrepareConfigBuilder b = new PrepareConfigBuilder();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("--prefix-field", b.prefixField);
        m.put("--target-field", b.targetField);
        m.put("--objective", b.objective.cliName());
        m.put("--max-length", Integer.toString(b.maxLength));
        m.put("--shards", Integer.toString(b.shards));
        m.put("--seed", Long.toString(b.seed));
        m.put("--validation-fraction", Double.toString(b.validationFraction));
        m.put("--min-chars", Integer.toString(b.minChars));
        m.put("--masking", b.masking.cliName());
        m.put("--mlm-probability", Double.toString(b.mlmProbability));
        m.put("--mask-replace-prob", Double.toString(b.maskReplaceProb));
        m.put("--random-replace-prob", Double.toString(b.randomReplaceProb));
        m.put("--max-predictions", Integer.toString(b.maxPredictions));
        m.put("--short-seq-prob", Double.toString(b.shortSeqProb));
        m.put("--fim-rate", Double.toString(b.fimRate));
        m.put("--fim-spm-rate", Double.toString(b.fimSpmRate));
        m.put("--fim-level", b.fimLevel.cliName());
        m.put("--padding-side", b.paddingSide.cliName());
        m.put("--partitions", Integer.toString(b.partitions));
        return m;
    }

    /** {@code --input}: files, directories or globs (Hadoop paths). */
    public PrepareConfigBuilder setInputs(List<String> inputs) {
        this.inputs = inputs;
        return this;
    }

    /** {@code --tokenizer}: a tokenizer directory, {@code tokenizer.json} or {@code vocab.txt}. */
    public PrepareConfigBuilder setTokenizer(String tokenizer) {
        this.tokenizer = tokenizer;
        return this;
    }

    /** {@code --output}: the dataset directory. */
    public PrepareConfigBuilder setOutput(String output) {
        this.output = output;
        return this;
    }

    /** {@code --input-format} (default: from the first file's extension). */
    public PrepareConfigBuilder optInputFormat(InputFormat inputFormat) {
        this.inputFormat = inputFormat;
        return this;
    }

    /** {@code --text-field} of JSON Lines and Parquet records. */
    public PrepareConfigBuilder optTextField(String textField) {
        this.textField = textField;
        return this;
    }

    /** {@code --prefix-field} and {@code --target-field} (mlm-seq2seq). */
    public PrepareConfigBuilder optSeq2SeqFields(String prefixField, String targetField) {
        this.prefixField = prefixField;
        this.targetField = targetField;
        return this;
    }

    /** {@code --lowercase} before tokenizing. */
    public PrepareConfigBuilder optLowercase(boolean lowercase) {
        this.lowercase = lowercase;
        return this;
    }

    /** {@code --objective}. */
    public PrepareConfigBuilder optObjective(PrepareConfig.Objective objective) {
        this.objective = objective;
        return this;
    }

    /** {@code --max-length}: tokens per row. */
    public PrepareConfigBuilder optMaxLength(int maxLength) {
        this.maxLength = maxLength;
        return this;
    }

    /** {@code --shards}: train shards. */
    public PrepareConfigBuilder optShards(int shards) {
        this.shards = shards;
        return this;
    }

    /** {@code --seed}: the root of every random choice. */
    public PrepareConfigBuilder optSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /** {@code --validation-fraction} of the documents. */
    public PrepareConfigBuilder optValidationFraction(double validationFraction) {
        this.validationFraction = validationFraction;
        return this;
    }

    /** {@code --min-chars} and {@code --dedup}: the document filters. */
    public PrepareConfigBuilder optFilters(int minChars, boolean dedup) {
        this.minChars = minChars;
        this.dedup = dedup;
        return this;
    }

    /** {@code --overwrite} an existing output. */
    public PrepareConfigBuilder optOverwrite(boolean overwrite) {
        this.overwrite = overwrite;
        return this;
    }

    /** {@code --incremental}: add the new input files to an existing dataset. */
    public PrepareConfigBuilder optIncremental(boolean incremental) {
        this.incremental = incremental;
        return this;
    }

    /** {@code --masking}. */
    public PrepareConfigBuilder optMasking(MaskingConfig.Strategy masking) {
        this.masking = masking;
        return this;
    }

    /** {@code --mlm-probability}. */
    public PrepareConfigBuilder optMlmProbability(double mlmProbability) {
        this.mlmProbability = mlmProbability;
        return this;
    }

    /** {@code --mask-replace-prob} and {@code --random-replace-prob}. */
    public PrepareConfigBuilder optReplaceProbs(double maskReplaceProb, double randomReplaceProb) {
        this.maskReplaceProb = maskReplaceProb;
        this.randomReplaceProb = randomReplaceProb;
        return this;
    }

    /** {@code --max-predictions} (fixed-count; 0: round(max length × mlm probability)). */
    public PrepareConfigBuilder optMaxPredictions(int maxPredictions) {
        this.maxPredictions = maxPredictions;
        return this;
    }

    /** {@code --whole-word-mask}. */
    public PrepareConfigBuilder optWholeWordMask(boolean wholeWordMask) {
        this.wholeWordMask = wholeWordMask;
        return this;
    }

    /** {@code --nsp} and {@code --short-seq-prob}: Google BERT's sentence pairs. */
    public PrepareConfigBuilder optNsp(boolean nsp, double shortSeqProb) {
        this.nsp = nsp;
        this.shortSeqProb = shortSeqProb;
        return this;
    }

    /** {@code --pack} documents into full windows (clm). */
    public PrepareConfigBuilder optPack(boolean pack) {
        this.pack = pack;
        return this;
    }

    /** {@code --fim-rate}, {@code --fim-spm-rate} and {@code --fim-level} (clm). */
    public PrepareConfigBuilder optFim(
            double fimRate, double fimSpmRate, PrepareConfig.FimLevel fimLevel) {
        this.fimRate = fimRate;
        this.fimSpmRate = fimSpmRate;
        this.fimLevel = fimLevel;
        return this;
    }

    /** {@code --padding-side}. */
    public PrepareConfigBuilder optPaddingSide(PrepareConfig.PaddingSide paddingSide) {
        this.paddingSide = paddingSide;
        return this;
    }

    /** {@code --partitions} after reading (0: as read). */
    public PrepareConfigBuilder optPartitions(int partitions) {
        this.partitions = partitions;
        return this;
    }

    /** {@code --stage-timing}: cache and time every stage. */
    public PrepareConfigBuilder optStageTiming(boolean stageTiming) {
        this.stageTiming = stageTiming;
        return this;
    }

    /** {@code --max-invalid-utf8-fraction} of the input's bytes. */
    public PrepareConfigBuilder optMaxInvalidUtf8Fraction(double maxInvalidUtf8Fraction) {
        this.maxInvalidUtf8Fraction = maxInvalidUtf8Fraction;
        return this;
    }

    /**
     * The config.
     *
     * @throws BadInputException naming the flag at fault
     */
    public PrepareConfig build() {
        if (tokenizer == null) {
            throw new BadInputException(
                    "--tokenizer is required: a tokenizer directory, tokenizer.json or vocab.txt");
        }
        if (output == null) {
            throw new BadInputException("--output is required: the dataset directory");
        }
        try {
            int cap =
                    maxPredictions > 0
                            ? maxPredictions
                            : Math.max(1, (int) Math.rint(maxLength * mlmProbability));
            return new PrepareConfig(
                    inputs,
                    inputFormat,
                    textField,
                    prefixField,
                    targetField,
                    tokenizer,
                    lowercase,
                    output,
                    objective,
                    maxLength,
                    shards,
                    seed,
                    validationFraction,
                    minChars,
                    dedup,
                    overwrite,
                    incremental,
                    new MaskingConfig(
                            masking,
                            mlmProbability,
                            maskReplaceProb,
                            randomReplaceProb,
                            cap,
                            wholeWordMask),
                    nsp,
                    shortSeqProb,
                    pack,
                    fimRate,
                    fimSpmRate,
                    fimLevel,
                    paddingSide,
                    partitions,
                    stageTiming,
                    maxInvalidUtf8Fraction);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }
}
