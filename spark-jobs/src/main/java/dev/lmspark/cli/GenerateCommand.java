package dev.lmspark.cli;

import dev.lmspark.generate.GenerateJob;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.spark.HadoopPaths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Generates text from a checkpoint. A masked LM (bert, rotary-mlm) fills [MASK]"
                    + " positions after the prompt by iterative unmasking; a causal LM (llama, or"
                    + " bert with causal attention) samples token by token with a KV cache, or"
                    + " fills the gap between --prompt and --suffix (fill-in-the-middle).",
            "Standard output carries only the results, one line each (one per --prompt, sample"
                    + " or --data row), with line breaks written as \\n, carriage returns as \\r"
                    + " and backslashes as \\\\; the same flags and --seed give the same lines."
                    + " Progress, warnings and the --data exact-match score go to standard"
                    + " error.",
            "Runs on the driver; only --data starts Spark, to read the rows."
        })
final class GenerateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--checkpoint",
            required = true,
            paramLabel = "DIR",
            description =
                    "A checkpoint directory (checkpoints/round-NNNNNN), or a train output"
                            + " directory (its checkpoints/latest is used).")
    String checkpoint;

    @Option(
            names = "--tokenizer",
            paramLabel = "DIR",
            description =
                    "The tokenizer (a directory with tokenizer.json, or the file) when the"
                            + " checkpoint has no tokenizer/ folder (default: the checkpoint's).")
    String tokenizer;

    @Option(
            names = "--prompt",
            paramLabel = "TEXT",
            description =
                    "Text to continue; repeatable, one output line per prompt. Each prompt is"
                            + " generated on its own: its line depends on it, the flags and"
                            + " --seed only. A masked LM reads it as [CLS] TEXT [SEP] and unmasks"
                            + " --max-new-tokens positions after it; its text ends at the first"
                            + " [SEP] generated.")
    List<String> prompts = new ArrayList<>();

    @Option(
            names = "--suffix",
            paramLabel = "TEXT",
            description =
                    "Causal LMs with FIM sentinels (bpe tokenizers): infill between --prompt (the"
                            + " prefix) and this suffix. Give one for every prompt, or one per"
                            + " prompt in order. The line is prefix + middle + suffix"
                            + " (--new-text-only: the middle).")
    List<String> suffixes = new ArrayList<>();

    @Option(
            names = "--num-samples",
            paramLabel = "N",
            description =
                    "Unconditional samples when no prompt is given: N lines (a causal LM starts"
                            + " after EOS, a masked LM unmasks --max-new-tokens positions).")
    int numSamples;

    @Option(
            names = "--data",
            paramLabel = "DIR",
            description =
                    "A dataset prepared with --objective mlm-seq2seq: predict the target of each"
                            + " row of --split from its prefix by iterative unmasking, print it"
                            + " (one line per row, in example_id order) and report the exact"
                            + " match with target_ids on standard error (masked LMs).")
    String data;

    @Option(
            names = "--split",
            paramLabel = "NAME",
            description = "The prediction split of --data (default: ${DEFAULT-VALUE}).")
    String split = "predict";

    @Option(
            names = "--limit",
            paramLabel = "N",
            description = "Only the first N rows of --split, by example_id (default: all).")
    Integer limit;

    @Option(
            names = "--batch-size",
            paramLabel = "N",
            description =
                    "Masked-LM rows run together (--data, --num-samples); results do not depend"
                            + " on it (default: ${DEFAULT-VALUE}).")
    int batchSize = 16;

    @Option(
            names = "--max-new-tokens",
            paramLabel = "N",
            description =
                    "Tokens to generate: a causal LM's most (it stops earlier at EOS), a masked"
                            + " LM's [MASK] positions (default: "
                            + GenerateJob.Config.DEFAULT_MAX_NEW_TOKENS
                            + "; with --data, the dataset's max_length, the longest a target can"
                            + " be).")
    Integer maxNewTokens;

    @Option(
            names = "--temperature",
            paramLabel = "T",
            description =
                    "Scores are divided by T before sampling; 0 is greedy, the most likely token"
                            + " every time (a masked LM still unmasks positions in a seeded"
                            + " random order unless --unmask-order confidence) (default:"
                            + " ${DEFAULT-VALUE}, plain sampling).")
    double temperature = 1.0;

    @Option(
            names = "--top-k",
            paramLabel = "K",
            description =
                    "Sample among the K most likely tokens only; 0 = off (default:"
                            + " ${DEFAULT-VALUE}).")
    int topK = 0;

    @Option(
            names = "--top-p",
            paramLabel = "P",
            description =
                    "Nucleus sampling: among the most likely tokens whose probability adds up to"
                            + " P; 1 = off (default: ${DEFAULT-VALUE}). Applied after"
                            + " --temperature and --top-k, as Hugging Face does.")
    double topP = 1.0;

    @Option(
            names = "--seed",
            paramLabel = "N",
            description =
                    "Root seed of every random draw; each row's draws depend on (seed, row,"
                            + " step) only (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(
            names = "--steps",
            paramLabel = "N",
            description =
                    "Masked LMs: unmasking steps; fewer steps fill more positions at once"
                            + " (default: --max-new-tokens, one position per step).")
    Integer steps;

    @Option(
            names = "--noise-schedule",
            paramLabel = "linear|cosine",
            converter = Converters.NoiseSchedules.class,
            description =
                    "Masked LMs: how many positions each step fills (default: linear, an equal"
                            + " share per step).")
    NoiseSchedule schedule = NoiseSchedule.LINEAR;

    @Option(
            names = "--unmask-order",
            paramLabel = "random|confidence",
            converter = Converters.UnmaskOrders.class,
            description =
                    "Masked LMs: which positions each step fills: random ones, or those whose"
                            + " drawn token the model is most sure of (default: random).")
    IterativeUnmasking.Order order = IterativeUnmasking.Order.RANDOM;

    @Option(
            names = "--history",
            paramLabel = "DIR",
            description =
                    "Masked LMs: write each step's top tokens per position to DIR:"
                            + " row-<key>/step-<k>.jsonl (key = sample index or example_id;"
                            + " under prompt-<i>/ for the i-th --prompt, from 0).")
    String history;

    @Option(
            names = "--history-top-k",
            paramLabel = "K",
            description = "Tokens per position in --history files (default: ${DEFAULT-VALUE}).")
    int historyTopK = 5;

    @Option(names = "--overwrite", description = "Replace --history if it exists.")
    boolean overwrite;

    @Option(
            names = "--ignore-eos",
            description = "Causal LMs: keep generating after EOS, up to --max-new-tokens.")
    boolean ignoreEos;

    @Option(
            names = "--no-kv-cache",
            description =
                    "Causal LMs: run the whole sequence at every step instead of caching keys and"
                            + " values (same tokens, slower; for checking).")
    boolean noKvCache;

    @Option(
            names = "--keep-special-tokens",
            description =
                    "Print special tokens ([CLS], [SEP], <|endoftext|>, FIM sentinels) and every"
                            + " generated token, without cutting a masked LM's text at [SEP].")
    boolean keepSpecialTokens;

    @Option(
            names = "--new-text-only",
            description =
                    "Print only the generated text, without the prompt (or the prefix and"
                            + " suffix). --data rows always print the predicted target alone.")
    boolean newTextOnly;

    @Option(
            names = "--device",
            paramLabel = "auto|cpu|gpu",
            converter = Converters.Devices.class,
            description = "Where the model runs (default: auto, the first GPU when there is one).")
    GenerateJob.DeviceChoice device = GenerateJob.DeviceChoice.AUTO;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        var config =
                GenerateJob.Config.builder()
                        .setCheckpoint(checkpoint)
                        .optTokenizer(tokenizer)
                        .optPrompts(prompts)
                        .optSuffixes(suffixes)
                        .optNumSamples(numSamples)
                        .optData(data, split)
                        .optLimit(limit)
                        .optBatchSize(batchSize)
                        .optMaxNewTokens(maxNewTokens)
                        .optSteps(steps)
                        .optSampler(GenerateJob.Config.sampler(temperature, topK, topP))
                        .optSeed(seed)
                        .optSchedule(schedule)
                        .optOrder(order)
                        .optHistory(history, historyTopK)
                        .optOverwrite(overwrite)
                        .optStopAtEos(!ignoreEos)
                        .optKvCache(!noKvCache)
                        .optKeepSpecialTokens(keepSpecialTokens)
                        .optNewTextOnly(newTextOnly)
                        .optDevice(device)
                        .build();
        GenerateJob.run(
                config,
                HadoopPaths.configuration(sparkOptions.conf()),
                spec.commandLine().getOut(),
                spec.commandLine().getErr());
        return 0;
    }
}
