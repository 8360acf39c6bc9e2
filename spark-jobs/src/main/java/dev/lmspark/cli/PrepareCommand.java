package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.jobs.PrepareConfig;
import dev.lmspark.jobs.PrepareConfigBuilder;
import dev.lmspark.jobs.PrepareJob;
import dev.lmspark.spark.SparkSessions;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "prepare",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        defaultValueProvider = PrepareCommand.Defaults.class,
        sortOptions = false,
        description = {
            "Tokenizes and collates a corpus into sharded, model-ready Parquet datasets:"
                    + " train/ and validation/ (and predict/ for mlm-seq2seq), manifest.json last.",
            "mlm: BERT masking (Hugging Face's Bernoulli collator or Google BERT's fixed count),"
                    + " --nsp for Google BERT sentence pairs; clm: EOS after every document,"
                    + " --pack, --fim-rate for fill-in-the-middle; mlm-seq2seq: [CLS] prefix [SEP]"
                    + " target [SEP] with masked targets, and left-padded prediction rows.",
            "The same input and --seed give byte-identical shards however Spark partitions or"
                    + " retries the work."
        })
final class PrepareCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin InputOptions input;

    @Option(
            names = "--prefix-field",
            paramLabel = "NAME",
            description = "mlm-seq2seq: the prefix field (default: ${DEFAULT-VALUE}).")
    String prefixField;

    @Option(
            names = "--target-field",
            paramLabel = "NAME",
            description = "mlm-seq2seq: the target field (default: ${DEFAULT-VALUE}).")
    String targetField;

    @Option(
            names = "--tokenizer",
            required = true,
            paramLabel = "PATH",
            description =
                    "A train-tokenizer directory, a tokenizer.json, or a BERT vocab.txt (with --lowercase for uncased).")
    String tokenizer;

    @Option(
            names = "--lowercase",
            description = "With a vocab.txt: lowercase and strip accents (BERT uncased).")
    boolean lowercase;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Dataset directory to create.")
    String output;

    @Option(
            names = "--objective",
            paramLabel = "mlm|clm|mlm-seq2seq",
            description = "What the dataset trains (default: ${DEFAULT-VALUE}).")
    String objective;

    @Option(
            names = "--max-length",
            paramLabel = "N",
            description = "Tokens per example, specials included (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(
            names = "--shards",
            paramLabel = "N",
            description = "Parquet files for the train split (default: ${DEFAULT-VALUE}).")
    int shards;

    @Option(
            names = "--seed",
            description = "Root seed of every random choice (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--validation-fraction",
            paramLabel = "F",
            description = "Share of documents held out (default: ${DEFAULT-VALUE}).")
    double validationFraction;

    @Option(
            names = "--min-chars",
            paramLabel = "N",
            description = "Drop documents shorter than N characters (default: ${DEFAULT-VALUE}).")
    int minChars;

    @Option(
            names = "--dedup",
            description =
                    "Drop exact duplicates (same text after NFC, whitespace and case folding).")
    boolean dedup;

    @Option(names = "--overwrite", description = "Replace --output if it exists.")
    boolean overwrite;

    @Option(
            names = "--incremental",
            description = "Add the input files --output does not list yet, as a new increment.")
    boolean incremental;

    @Option(
            names = "--masking",
            paramLabel = "bernoulli|fixed-count",
            description = "MLM position choice (default: ${DEFAULT-VALUE}).")
    String masking;

    @Option(
            names = "--mlm-probability",
            paramLabel = "P",
            description = "Share of tokens predicted (default: ${DEFAULT-VALUE}).")
    double mlmProbability;

    @Option(
            names = "--mask-replace-prob",
            paramLabel = "P",
            description = "Of those, share set to [MASK] (default: ${DEFAULT-VALUE}).")
    double maskReplaceProb;

    @Option(
            names = "--random-replace-prob",
            paramLabel = "P",
            description = "Share set to a random token (default: ${DEFAULT-VALUE}).")
    double randomReplaceProb;

    @Option(
            names = "--max-predictions",
            paramLabel = "N",
            description =
                    "fixed-count: at most N predictions per sequence (default: 0 = round(max-length × 0.15)).")
    int maxPredictions;

    @Option(
            names = "--whole-word-mask",
            description = "Choose whole words (all their sub-tokens together).")
    boolean wholeWord;

    @Option(
            names = "--nsp",
            description = "mlm: Google BERT next-sentence pairs [CLS] A [SEP] B [SEP].")
    boolean nsp;

    @Option(
            names = "--short-seq-prob",
            paramLabel = "P",
            description = "NSP: chance of a shorter target length (default: ${DEFAULT-VALUE}).")
    double shortSeqProb;

    @Option(
            names = "--pack",
            description =
                    "clm: lay documents end to end and cut windows (else one document per example).")
    boolean pack;

    @Option(
            names = "--fim-rate",
            paramLabel = "P",
            description =
                    "clm: share of documents (or segments) in FIM order (default: ${DEFAULT-VALUE}).")
    double fimRate;

    @Option(
            names = "--fim-spm-rate",
            paramLabel = "P",
            description = "clm: share of FIM in SPM order (default: ${DEFAULT-VALUE}).")
    double fimSpmRate;

    @Option(
            names = "--fim-level",
            paramLabel = "document|context",
            description = "clm: FIM before or after packing (default: ${DEFAULT-VALUE}).")
    String fimLevel;

    @Option(
            names = "--padding-side",
            paramLabel = "right|left",
            description = "Where padding goes (default: ${DEFAULT-VALUE}).")
    String paddingSide;

    @Option(
            names = "--partitions",
            paramLabel = "N",
            description = "Spark partitions after reading (default: 0 = as read).")
    int partitions;

    @Option(
            names = "--stage-timing",
            description =
                    "Cache and time every collation stage (slower; for profiling and bench/prepare).")
    boolean stageTiming;

    @Mixin SparkOptions sparkOptions;

    /** The command's defaults are the config builder's ({@link PrepareConfigBuilder#defaults}). */
    static final class Defaults implements IDefaultValueProvider {
        private final Map<String, String> defaults = PrepareConfigBuilder.defaults();

        @Override
        public String defaultValue(ArgSpec arg) {
            return arg instanceof OptionSpec o ? defaults.get(o.longestName()) : null;
        }
    }

    /** The flags, mapped onto the config's builder. */
    PrepareConfig config() {
        try {
            return PrepareConfig.builder()
                    .setInputs(input.inputs)
                    .setTokenizer(tokenizer)
                    .setOutput(output)
                    .optInputFormat(input.inputFormat)
                    .optTextField(input.textField)
                    .optSeq2SeqFields(prefixField, targetField)
                    .optLowercase(lowercase)
                    .optObjective(PrepareConfig.Objective.fromCliName(objective))
                    .optMaxLength(maxLength)
                    .optShards(shards)
                    .optSeed(seed)
                    .optValidationFraction(validationFraction)
                    .optFilters(minChars, dedup)
                    .optOverwrite(overwrite)
                    .optIncremental(incremental)
                    .optMasking(MaskingConfig.Strategy.fromCliName(masking))
                    .optMlmProbability(mlmProbability)
                    .optReplaceProbs(maskReplaceProb, randomReplaceProb)
                    .optMaxPredictions(maxPredictions)
                    .optWholeWordMask(wholeWord)
                    .optNsp(nsp, shortSeqProb)
                    .optPack(pack)
                    .optFim(fimRate, fimSpmRate, PrepareConfig.FimLevel.fromCliName(fimLevel))
                    .optPaddingSide(PrepareConfig.PaddingSide.fromCliName(paddingSide))
                    .optPartitions(partitions)
                    .optStageTiming(stageTiming)
                    .optMaxInvalidUtf8Fraction(input.maxInvalidUtf8Fraction)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    @Override
    public Integer call() {
        PrepareConfig config = config();
        var spark =
                SparkSessions.start("lmspark prepare", sparkOptions.master(), sparkOptions.conf());
        PrepareJob.Result r = PrepareJob.run(spark, config, spec.commandLine().getErr());
        var out = spec.commandLine().getOut();
        if (r.nothingToDo()) {
            out.printf("prepare: %s is up to date; no new input files%n", r.output());
            return 0;
        }
        out.printf(
                "prepare: %s dataset of %,d documents written to %s in %.1f s%n",
                config.objective().cliName(), r.documents(), r.output(), r.seconds());
        for (Map.Entry<String, Long> e : r.examples().entrySet()) {
            out.printf(
                    "  %-10s %,d examples, %,d tokens%n",
                    e.getKey(), e.getValue(), r.tokens().get(e.getKey()));
        }
        StringBuilder stages = new StringBuilder();
        r.stageSeconds().forEach((k, v) -> stages.append(String.format(" %s %.1fs", k, v)));
        out.println("  stages    " + stages.toString().strip());
        return 0;
    }
}
