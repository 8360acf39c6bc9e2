package dev.lmspark.cli;

import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.jobs.TrainTokenizerJob;
import dev.lmspark.spark.SparkSessions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "train-tokenizer",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Trains a WordPiece (BERT) or byte-level BPE (GPT-2) tokenizer: Spark counts the words of"
                    + " the corpus, the driver learns the vocabulary.",
            "--output receives tokenizer.json, tokenizer_config.json and special_tokens_map.json,"
                    + " loadable by any Hugging Face tokenizers implementation.",
            "Special ids: wordpiece [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4;"
                    + " bpe <|endoftext|>=0 <pad>=1 <fim_prefix>=2 <fim_middle>=3 <fim_suffix>=4"
                    + " <fim_pad>=5."
        })
final class TrainTokenizerCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin InputOptions input;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Tokenizer directory to create.")
    String output;

    @Option(
            names = "--type",
            paramLabel = "wordpiece|bpe",
            converter = Converters.TokenizerTypes.class,
            description = "Tokenizer family (default: wordpiece).")
    TokenizerType type = TokenizerType.WORDPIECE;

    @Option(
            names = "--vocab-size",
            paramLabel = "N",
            description = "Vocabulary size, special tokens included (default: ${DEFAULT-VALUE}).")
    int vocabSize = 30000;

    @Option(
            names = "--lowercase",
            description = "WordPiece: lowercase and strip accents (BERT uncased).")
    boolean lowercase;

    @Option(
            names = "--min-frequency",
            paramLabel = "N",
            description = "Merge only pairs seen at least N times (default: ${DEFAULT-VALUE}).")
    long minFrequency = 2;

    @Option(
            names = "--partitions",
            paramLabel = "N",
            description = "Tasks for word counting (default: 0 = Spark's default parallelism).")
    int partitions;

    @Option(names = "--overwrite", description = "Replace --output if it exists.")
    boolean overwrite;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        TokenizerSpec tokenizer;
        try {
            tokenizer = new TokenizerSpec(type, vocabSize, lowercase, minFrequency);
        } catch (IllegalArgumentException e) {
            throw new dev.lmspark.data.BadInputException(e.getMessage(), e);
        }
        var config =
                new TrainTokenizerJob.Config(
                        input.inputs,
                        input.inputFormat,
                        input.textField,
                        tokenizer,
                        output,
                        overwrite,
                        partitions,
                        input.maxInvalidUtf8Fraction);
        var spark =
                SparkSessions.start(
                        "lmspark train-tokenizer", sparkOptions.master(), sparkOptions.conf());
        var result = TrainTokenizerJob.run(spark, config, spec.commandLine().getErr());
        spec.commandLine()
                .getOut()
                .printf(
                        "train-tokenizer: wrote a %s tokenizer of %,d tokens (%,d merges, from %,d"
                                + " distinct words) to %s in %.1f s%n",
                        type.cliName(),
                        result.vocabSize(),
                        result.merges(),
                        result.distinctWords(),
                        result.output(),
                        result.seconds());
        return 0;
    }
}
