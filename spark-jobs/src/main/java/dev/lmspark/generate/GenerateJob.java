package dev.lmspark.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.generate.CausalSampler;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.model.generate.TokenSampler;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.task.PretrainingTasks;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.CheckpointFiles;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code generate}: text from a checkpoint, on the driver. A masked LM (BERT or rotary MLM) fills
 * {@code [MASK]} positions by iterative unmasking ({@link IterativeUnmasking}); a causal LM (Llama
 * or BERT architecture) samples token by token with a KV cache, or infills between a prefix and a
 * suffix ({@link CausalSampler}). Three sources of rows:
 *
 * <ul>
 *   <li>prompts: one result per prompt, each with row key 0 (the samplers' convention for a single
 *       prompt), so a prompt's result depends on the prompt, the flags and the seed only — not on
 *       the prompts beside it;
 *   <li>unconditional samples: {@code numSamples} rows with keys 0 … N−1;
 *   <li>a prediction split of an {@code mlm-seq2seq} dataset: each row's target predicted from its
 *       left-padded prefix, keyed by its {@code example_id}, and scored by exact match against
 *       {@code target_ids}.
 * </ul>
 *
 * <p>Results go to {@code out}, one line each, with line breaks escaped ({@link #oneLine}); every
 * other message goes to {@code progress}. Only {@code --data} starts Spark, to read the rows.
 *
 * <p>A masked LM's generated text ends at the first {@code [SEP]} it generates after a prompt or a
 * dataset prefix (a target ends with {@code [SEP]} in mlm-seq2seq rows, and a document in mlm
 * rows); what the model put after it is noise no training row ever showed it. Unconditional rows
 * have no such end and are printed whole.
 */
public final class GenerateJob {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The objective a {@code --data} dataset must have been prepared with. */
    static final String SEQ2SEQ = "mlm-seq2seq";

    /** Where the tensors go: the first GPU when there is one ({@code auto}), or as named. */
    public enum DeviceChoice {
        AUTO,
        CPU,
        GPU;

        /**
         * Parses {@code auto}, {@code cpu} or {@code gpu}, naming the accepted values otherwise.
         */
        public static DeviceChoice fromCliName(String name) {
            for (DeviceChoice d : values()) {
                if (d.name().equalsIgnoreCase(name)) {
                    return d;
                }
            }
            throw new IllegalArgumentException(
                    "unknown device '" + name + "'; use auto, cpu or gpu");
        }
    }

    /**
     * What to generate and how; the constructor checks every value, naming the flag.
     *
     * @param checkpoint a checkpoint directory or a train output directory (its latest checkpoint)
     * @param tokenizer a tokenizer directory or {@code tokenizer.json} to use instead of the
     *     checkpoint's {@code tokenizer/}; null = the checkpoint's
     * @param prompts one result per prompt, in order; empty = none
     * @param suffixes FIM suffixes: none, one for every prompt, or one per prompt
     * @param numSamples unconditional samples (no prompt); 0 = none
     * @param data a prepared mlm-seq2seq dataset to predict; null = none
     * @param split its prediction split (default {@code predict})
     * @param limit the first rows of the split by example_id; null = all
     * @param batchSize masked-LM rows run together
     * @param maxNewTokens tokens generated per row; null = 32, or the dataset's max_length with
     *     {@code data}
     * @param steps iterative-unmasking steps; null = the number of new tokens
     * @param sampler temperature (0 = greedy), top-k (0 = off), top-p (1 = off)
     * @param seed the root seed of every draw
     * @param schedule how many positions each unmasking step fills
     * @param order which positions each unmasking step fills
     * @param history directory for the per-step top-k files of iterative unmasking; null = none
     * @param historyTopK tokens per position in the history files
     * @param overwrite replace an existing {@code history}
     * @param stopAtEos causal LMs stop at EOS
     * @param kvCache causal LMs decode through a KV cache
     * @param keepSpecialTokens print special tokens and every generated token (no cut at [SEP])
     * @param newTextOnly print only the generated text (not the prompt, prefix or suffix)
     * @param device where the model runs
     */
    public record Config(
            String checkpoint,
            String tokenizer,
            List<String> prompts,
            List<String> suffixes,
            int numSamples,
            String data,
            String split,
            Integer limit,
            int batchSize,
            Integer maxNewTokens,
            Integer steps,
            TokenSampler sampler,
            long seed,
            NoiseSchedule schedule,
            IterativeUnmasking.Order order,
            String history,
            int historyTopK,
            boolean overwrite,
            boolean stopAtEos,
            boolean kvCache,
            boolean keepSpecialTokens,
            boolean newTextOnly,
            DeviceChoice device) {

        /** The default of {@code --max-new-tokens} for prompts and unconditional samples. */
        public static final int DEFAULT_MAX_NEW_TOKENS = 32;

        public Config {
            HadoopPaths.check("--checkpoint", checkpoint);
            if (tokenizer != null) {
                HadoopPaths.check("--tokenizer", tokenizer);
            }
            prompts = List.copyOf(prompts);
            suffixes = List.copyOf(suffixes);
            int sources = (prompts.isEmpty() ? 0 : 1) + (numSamples > 0 ? 1 : 0);
            sources += data != null ? 1 : 0;
            if (sources == 0) {
                throw new BadInputException(
                        "nothing to generate; give --prompt TEXT (repeatable), --num-samples N"
                                + " for unconditional samples, or --data DIR to predict a"
                                + " mlm-seq2seq split");
            }
            if (sources > 1) {
                throw new BadInputException(
                        "--prompt, --num-samples and --data are alternatives; give one of them");
            }
            if (numSamples < 0) {
                throw new BadInputException("--num-samples " + numSamples + " must be at least 1");
            }
            if (!suffixes.isEmpty()) {
                if (prompts.isEmpty()) {
                    throw new BadInputException(
                            "--suffix needs --prompt, the text before the gap (it may be empty:"
                                    + " --prompt '')");
                }
                if (suffixes.size() != 1 && suffixes.size() != prompts.size()) {
                    throw new BadInputException(
                            suffixes.size()
                                    + " --suffix values for "
                                    + prompts.size()
                                    + " --prompt values; give one --suffix for every prompt, or"
                                    + " one per prompt in the same order");
                }
            }
            if (data != null) {
                HadoopPaths.check("--data", data);
                if (split == null || split.isBlank()) {
                    throw new BadInputException("--split is empty; give predict");
                }
            }
            if (limit != null && limit < 1) {
                throw new BadInputException(
                        "--limit " + limit + " must be at least 1 (leave it out for every row)");
            }
            if (batchSize < 1) {
                throw new BadInputException("--batch-size " + batchSize + " must be at least 1");
            }
            if (maxNewTokens != null && maxNewTokens < 1) {
                throw new BadInputException(
                        "--max-new-tokens " + maxNewTokens + " must be at least 1");
            }
            if (steps != null && steps < 1) {
                throw new BadInputException(
                        "--steps "
                                + steps
                                + " must be at least 1 (leave it out for one per new token)");
            }
            if (history != null) {
                HadoopPaths.check("--history", history);
            }
            if (historyTopK < 1) {
                throw new BadInputException(
                        "--history-top-k " + historyTopK + " must be at least 1");
            }
            if (sampler == null || schedule == null || order == null || device == null) {
                throw new IllegalArgumentException(
                        "sampler, schedule, order and device must not be null");
            }
        }

        /** Checks the sampling flags and builds the sampler, naming the flag at fault. */
        public static TokenSampler sampler(double temperature, int topK, double topP) {
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new BadInputException(
                        "--temperature "
                                + temperature
                                + " must be 0 (greedy) or a positive number such as 0.8");
            }
            if (topK < 0) {
                throw new BadInputException("--top-k " + topK + " must be 0 (off) or more");
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new BadInputException(
                        "--top-p " + topP + " must be in (0, 1], e.g. 0.9; 1 turns it off");
            }
            return new TokenSampler(temperature, topK, topP);
        }

        /** A builder: {@code setCheckpoint} is required, every {@code opt…} has its default. */
        public static GenerateConfigBuilder builder() {
            return new GenerateConfigBuilder();
        }

        boolean infilling() {
            return !suffixes.isEmpty();
        }

        String suffix(int prompt) {
            return suffixes.size() == 1 ? suffixes.get(0) : suffixes.get(prompt);
        }
    }

    /**
     * What was generated.
     *
     * @param checkpoint the checkpoint directory used
     * @param lines results printed
     * @param newTokens tokens generated, over all rows
     * @param exactMatches rows of {@code --data} whose prediction equals the reference; -1 without
     *     {@code --data}
     * @param seconds wall time, loading included
     */
    public record Result(
            String checkpoint, int lines, long newTokens, int exactMatches, double seconds) {}

    private GenerateJob() {}

    /**
     * Generates, printing each result to {@code out} as it is made; on the driver, without Spark
     * (prediction rows are read straight from the shards).
     */
    public static Result run(
            Config c, Configuration hadoop, PrintWriter out, PrintWriter progress) {
        long start = System.nanoTime();
        Path given = new Path(c.checkpoint());
        FileSystem fs = HadoopPaths.fileSystem(given, hadoop);
        Path dir = CheckpointDirectory.resolve("--checkpoint", given, fs);
        InputFolder checkpoint = HadoopFolders.input(fs, dir);
        ModelConfig model = CheckpointFiles.config(checkpoint);
        byte[] tokenizerJson = GenerateChecks.tokenizerJson(c, fs, dir, hadoop);
        try (LmTokenizer tok = GenerateChecks.loadTokenizer(tokenizerJson, c, dir)) {
            GenerateChecks.checkModelAndFlags(c, dir, model, tok, progress);
            if (c.history() != null) {
                // Refused before Spark starts or the weights are read; begun (and checked again)
                // just before generating.
                Path target = new Path(c.history());
                FileSystem historyFs = HadoopPaths.fileSystem(target, hadoop);
                AtomicOutput.checkTarget(
                        "--history", historyFs, historyFs.makeQualified(target), c.overwrite());
            }
            PreparedDataset dataset =
                    c.data() != null ? PredictionRows.dataset(c, tokenizerJson, hadoop) : null;
            int maxNewTokens =
                    c.maxNewTokens() != null
                            ? c.maxNewTokens()
                            : dataset != null ? dataset.maxLength() : Config.DEFAULT_MAX_NEW_TOKENS;
            List<PredictionRows.PredictRow> rows =
                    dataset != null ? PredictionRows.readRows(c, dataset, hadoop) : null;
            GenerateChecks.checkLengths(c, model, tok, maxNewTokens, rows, progress);
            Device device = GenerateChecks.device(c.device());
            AtomicOutput history =
                    c.history() != null
                            ? AtomicOutput.begin(
                                    "--history", new Path(c.history()), c.overwrite(), hadoop)
                            : null;
            try (history;
                    NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE)) {
                long loadStart = System.nanoTime();
                ModelWeights weights = CheckpointFiles.weights(checkpoint, manager);
                long parameters = 0;
                for (NDArray a : weights.parameters().values()) {
                    parameters += a.getShape().size();
                }
                progress.printf(
                        "generate: %s %s model (%,d parameters, vocabulary %,d) from %s on %s,"
                                + " loaded in %.1f s%n",
                        model.architecture(),
                        model.causal() ? "causal" : "masked",
                        parameters,
                        model.vocabSize(),
                        dir,
                        device,
                        (System.nanoTime() - loadStart) / 1e9);
                GenerationRun run = new GenerationRun(c, tok, out, progress, history, maxNewTokens);
                if (model.causal()) {
                    run.causal(weights.toCausalLm());
                } else if (rows != null) {
                    run.predictDataset(masked(weights), rows);
                } else {
                    run.masked(masked(weights));
                }
                if (history != null) {
                    history.publish();
                    progress.println("generate: history written to " + history.target());
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                progress.printf(
                        "generate: %,d line%s, %,d new tokens in %.1f s%n",
                        run.lines, run.lines == 1 ? "" : "s", run.newTokens, seconds);
                return new Result(dir.toString(), run.lines, run.newTokens, run.matches, seconds);
            }
        }
    }

    /** An unmasking builder holding the masked LM of {@code weights}: BERT or rotary MLM. */
    private static IterativeUnmasking.Builder masked(ModelWeights weights) {
        IterativeUnmasking.Builder b = IterativeUnmasking.builder();
        return PretrainingTasks.kind(weights.config()) == PretrainingTasks.Kind.MASKED_LM
                ? b.setModel(weights.toMaskedLm())
                : b.setModel(weights.toBertForPretraining());
    }

    /** {@code ids} up to (without) the first {@code [SEP]}: a target's end in mlm-seq2seq rows. */
    public static int[] untilSep(LmTokenizer tok, int[] ids) {
        Integer sep = tok.specials().sep();
        if (sep == null) {
            return ids;
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == sep) {
                return Arrays.copyOf(ids, i);
            }
        }
        return ids;
    }

    /**
     * {@code text} on one line: a backslash becomes {@code \\}, a line feed {@code \n}, a carriage
     * return {@code \r}, and the other characters that end a line somewhere (VT, FF, FS, GS, RS,
     * NEL, LS, PS) {@code \}{@code uXXXX}, so the original is recoverable and one result is always
     * one line.
     */
    public static String oneLine(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            switch (ch) {
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\u000B',
                                '\u000C',
                                '\u001C',
                                '\u001D',
                                '\u001E',
                                '\u0085',
                                '\u2028',
                                '\u2029' ->
                        b.append(String.format("\\u%04x", (int) ch));
                default -> b.append(ch);
            }
        }
        return b.toString();
    }
}
