package dev.lmspark.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.generate.CausalSampler;
import dev.lmspark.model.generate.Generated;
import dev.lmspark.model.generate.HistorySink;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.model.generate.TokenSampler;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.PretrainingTasks;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.Examples;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
    private static final ObjectMapper JSON = new ObjectMapper();

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

    /** One prediction row of an mlm-seq2seq split. */
    record PredictRow(long exampleId, int[] inputIds, int[] attentionMask, int[] targetIds) {}

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
        ModelConfig model = readConfig(checkpoint);
        byte[] tokenizerJson = tokenizerJson(c, fs, dir, hadoop);
        try (LmTokenizer tok = loadTokenizer(tokenizerJson, c, dir)) {
            checkModelAndFlags(c, dir, model, tok, progress);
            if (c.history() != null) {
                // Refused before Spark starts or the weights are read; begun (and checked again)
                // just before generating.
                Path target = new Path(c.history());
                FileSystem historyFs = HadoopPaths.fileSystem(target, hadoop);
                AtomicOutput.checkTarget(
                        "--history", historyFs, historyFs.makeQualified(target), c.overwrite());
            }
            PreparedDataset dataset = c.data() != null ? dataset(c, tokenizerJson, hadoop) : null;
            int maxNewTokens =
                    c.maxNewTokens() != null
                            ? c.maxNewTokens()
                            : dataset != null ? dataset.maxLength() : Config.DEFAULT_MAX_NEW_TOKENS;
            List<PredictRow> rows = dataset != null ? readRows(c, dataset, hadoop) : null;
            checkLengths(c, model, tok, maxNewTokens, rows, progress);
            Device device = device(c.device());
            AtomicOutput history =
                    c.history() != null
                            ? AtomicOutput.begin(
                                    "--history", new Path(c.history()), c.overwrite(), hadoop)
                            : null;
            try (history;
                    NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE)) {
                long loadStart = System.nanoTime();
                ModelWeights weights = readWeights(checkpoint, manager);
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
                Run run = new Run(c, tok, out, progress, history, maxNewTokens);
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

    /** The generation itself, with the counters the summary reports. */
    private static final class Run {
        final Config c;
        final LmTokenizer tok;
        final PrintWriter out;
        final PrintWriter progress;
        final AtomicOutput history;
        final int maxNewTokens;
        final int steps;
        int lines;
        long newTokens;
        int matches = -1;

        Run(
                Config c,
                LmTokenizer tok,
                PrintWriter out,
                PrintWriter progress,
                AtomicOutput history,
                int maxNewTokens) {
            this.c = c;
            this.tok = tok;
            this.out = out;
            this.progress = progress;
            this.history = history;
            this.maxNewTokens = maxNewTokens;
            this.steps = c.steps() != null ? c.steps() : maxNewTokens;
        }

        void print(String text) {
            out.println(oneLine(text));
            out.flush();
            lines++;
        }

        void causal(CausalLm model) {
            CausalSampler sampler =
                    CausalSampler.builder()
                            .setModel(model)
                            .setTokenizer(tok)
                            .optMaxNewTokens(maxNewTokens)
                            .optSampler(c.sampler())
                            .optSeed(c.seed())
                            .optStopAtEos(c.stopAtEos())
                            .optKvCache(c.kvCache())
                            .optSkipSpecialTokens(!c.keepSpecialTokens())
                            .build();
            if (c.numSamples() > 0) {
                for (int i = 0; i < c.numSamples(); i++) {
                    Generated g = sampler.generate(new int[0], i);
                    newTokens += g.ids().length - g.outputStart();
                    print(c.newTextOnly() ? g.outputText() : g.text());
                }
                return;
            }
            for (int i = 0; i < c.prompts().size(); i++) {
                String prompt = c.prompts().get(i);
                if (c.infilling()) {
                    String suffix = c.suffix(i);
                    Generated g = sampler.infill(prompt, suffix);
                    newTokens += g.ids().length - g.outputStart();
                    print(
                            c.newTextOnly()
                                    ? g.outputText()
                                    : c.keepSpecialTokens()
                                            ? g.text()
                                            : tok.decode(tok.encode(prompt).ids(), true)
                                                    + g.outputText()
                                                    + tok.decode(tok.encode(suffix).ids(), true));
                } else {
                    Generated g = sampler.generate(tok.encode(prompt).ids(), 0);
                    newTokens += g.ids().length - g.outputStart();
                    print(c.newTextOnly() ? g.outputText() : g.text());
                }
            }
        }

        IterativeUnmasking unmasking(IterativeUnmasking.Builder model, String historyPrefix) {
            IterativeUnmasking.Builder b =
                    model.setTokenizer(tok)
                            .setMaxSteps(steps)
                            .optMaxNewTokens(maxNewTokens)
                            .optNoiseSchedule(c.schedule())
                            .optSampler(c.sampler())
                            .optOrder(c.order())
                            .optSkipSpecialTokens(!c.keepSpecialTokens())
                            .optSeed(c.seed());
            if (history != null) {
                HistorySink sink = (path, bytes) -> history.write(historyPrefix + path, bytes);
                b.optHistory(sink, c.historyTopK());
            }
            return b.build();
        }

        void masked(IterativeUnmasking.Builder model) {
            if (c.numSamples() > 0) {
                IterativeUnmasking gen = unmasking(model, "");
                for (int from = 0; from < c.numSamples(); from += c.batchSize()) {
                    int n = Math.min(c.batchSize(), c.numSamples() - from);
                    long[] keys = new long[n];
                    for (int i = 0; i < n; i++) {
                        keys[i] = from + i;
                    }
                    for (Generated g : gen.predict(new int[n][0], null, keys)) {
                        newTokens += maxNewTokens;
                        print(g.text());
                    }
                }
                return;
            }
            for (int i = 0; i < c.prompts().size(); i++) {
                String prompt = c.prompts().get(i);
                // Every prompt has row key 0, so each has its own history folder.
                Generated g = unmasking(model, "prompt-" + i + "/").generate(prompt);
                newTokens += maxNewTokens;
                print(maskedText(g));
            }
        }

        /** The text of a masked-LM row generated after a prompt or prefix: cut at [SEP]. */
        String maskedText(Generated g) {
            if (c.keepSpecialTokens()) {
                return c.newTextOnly() ? g.outputText() : g.text();
            }
            int[] output = untilSep(tok, g.outputIds());
            if (c.newTextOnly()) {
                return tok.decode(output, true);
            }
            int[] prompt = Arrays.copyOf(g.ids(), g.outputStart());
            int[] all = Arrays.copyOf(prompt, prompt.length + output.length);
            System.arraycopy(output, 0, all, prompt.length, output.length);
            return tok.decode(all, true);
        }

        void predictDataset(IterativeUnmasking.Builder model, List<PredictRow> rows) {
            IterativeUnmasking gen = unmasking(model, "");
            long started = System.nanoTime();
            matches = 0;
            for (int from = 0; from < rows.size(); from += c.batchSize()) {
                List<PredictRow> batch =
                        rows.subList(from, Math.min(rows.size(), from + c.batchSize()));
                int[][] ids = new int[batch.size()][];
                int[][] masks = new int[batch.size()][];
                long[] keys = new long[batch.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = batch.get(i).inputIds();
                    masks[i] = batch.get(i).attentionMask();
                    keys[i] = batch.get(i).exampleId();
                }
                List<Generated> done = gen.predict(ids, masks, keys);
                for (int i = 0; i < ids.length; i++) {
                    Generated g = done.get(i);
                    int[] predicted = untilSep(tok, g.outputIds());
                    if (Arrays.equals(predicted, untilSep(tok, batch.get(i).targetIds()))) {
                        matches++;
                    }
                    newTokens += maxNewTokens;
                    print(c.keepSpecialTokens() ? g.outputText() : tok.decode(predicted, true));
                }
                if (rows.size() > c.batchSize()) {
                    progress.printf(
                            "generate: %,d/%,d rows (%.1f rows/s)%n",
                            from + batch.size(),
                            rows.size(),
                            (from + batch.size()) / ((System.nanoTime() - started) / 1e9));
                }
            }
            progress.printf(
                    "generate: exact match %d/%d (%.1f%%)%n",
                    matches, rows.size(), 100.0 * matches / rows.size());
        }
    }

    // --- checkpoint, tokenizer and flags -------------------------------------------------------

    private static ModelConfig readConfig(InputFolder checkpoint) {
        try (InputStream s = checkpoint.open(ModelCheckpoint.CONFIG_FILE)) {
            return ModelCheckpoint.parseConfig(
                    new String(s.readAllBytes(), StandardCharsets.UTF_8),
                    checkpoint.describe() + "/" + ModelCheckpoint.CONFIG_FILE);
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    private static ModelWeights readWeights(InputFolder checkpoint, NDManager manager) {
        try {
            return ModelCheckpoint.read(checkpoint, manager);
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    /** {@code --tokenizer}'s {@code tokenizer.json}, else the checkpoint's. */
    private static byte[] tokenizerJson(
            Config c, FileSystem fs, Path checkpoint, Configuration hadoop) {
        if (c.tokenizer() != null) {
            return TokenizerSource.read(c.tokenizer(), false, hadoop).json();
        }
        InputFolder folder =
                HadoopFolders.input(fs, new Path(checkpoint, CheckpointDirectory.TOKENIZER));
        try {
            if (!folder.exists(TrainedTokenizer.TOKENIZER_JSON)) {
                throw new BadInputException(
                        "--checkpoint "
                                + checkpoint
                                + " has no "
                                + CheckpointDirectory.TOKENIZER
                                + "/"
                                + TrainedTokenizer.TOKENIZER_JSON
                                + "; give the tokenizer the model was trained with as --tokenizer"
                                + " DIR");
            }
            try (InputStream s = folder.open(TrainedTokenizer.TOKENIZER_JSON)) {
                return s.readAllBytes();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot read the tokenizer of " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    private static LmTokenizer loadTokenizer(byte[] json, Config c, Path checkpoint) {
        try {
            return LmTokenizer.fromJson(json);
        } catch (BadInputException e) {
            String where =
                    c.tokenizer() != null
                            ? "--tokenizer " + c.tokenizer()
                            : "--checkpoint " + checkpoint + ": " + CheckpointDirectory.TOKENIZER;
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    /** Refuses flags the model or tokenizer cannot serve, before the weights are read. */
    private static void checkModelAndFlags(
            Config c, Path dir, ModelConfig model, LmTokenizer tok, PrintWriter progress) {
        String from = c.tokenizer() != null ? "--tokenizer " + c.tokenizer() : "its tokenizer";
        if (tok.vocabSize() != model.vocabSize()) {
            throw new BadInputException(
                    "the model in "
                            + dir
                            + " has a vocabulary of "
                            + model.vocabSize()
                            + " ids, "
                            + from
                            + " has "
                            + tok.vocabSize()
                            + "; give the tokenizer the model was trained with"
                            + (c.tokenizer() != null ? "" : " as --tokenizer DIR"));
        }
        String kind = model.architecture() + (model.causal() ? " causal LM" : " masked LM");
        SpecialTokenIds s = tok.specials();
        if (model.causal()) {
            if (c.data() != null) {
                throw new BadInputException(
                        "--data predicts mlm-seq2seq rows with a masked LM; "
                                + dir
                                + " holds a "
                                + kind
                                + "; give a masked LM's --checkpoint, or --prompt");
            }
            if (c.history() != null) {
                throw new BadInputException(
                        "--history records the steps of iterative unmasking, which a "
                                + kind
                                + " does not do; leave --history out");
            }
            if (s.eos() == null) {
                throw new BadInputException(
                        from
                                + " has no EOS (<|endoftext|> or [SEP]), which causal generation"
                                + " starts and stops at; give the tokenizer the model was trained"
                                + " with");
            }
            if (c.infilling() && !s.hasFim()) {
                throw new BadInputException(
                        "--suffix infills with the FIM sentinels, and "
                                + from
                                + " has none (<fim_prefix> <fim_middle> <fim_suffix> <fim_pad>);"
                                + " use a model trained with a bpe tokenizer and --fim-rate, or"
                                + " leave --suffix out");
            }
            if (c.steps() != null
                    || c.schedule() != NoiseSchedule.LINEAR
                    || c.order() != IterativeUnmasking.Order.RANDOM) {
                progress.println(
                        "generate: warning: --steps, --noise-schedule and --unmask-order apply to"
                                + " masked LMs; this "
                                + kind
                                + " ignores them");
            }
        } else {
            if (c.infilling()) {
                throw new BadInputException(
                        "--suffix (fill-in-the-middle) needs a causal LM; "
                                + dir
                                + " holds a "
                                + kind
                                + ", which continues a --prompt by unmasking; leave --suffix out");
            }
            if (s.mask() == null) {
                throw new BadInputException(
                        from
                                + " has no [MASK] token, which a masked LM generates by filling;"
                                + " give the tokenizer the model was trained with");
            }
            if (!c.stopAtEos() || !c.kvCache()) {
                progress.println(
                        "generate: warning: --ignore-eos and --no-kv-cache apply to causal LMs;"
                                + " this "
                                + kind
                                + " ignores them");
            }
        }
        if (c.sampler().isGreedy() && (c.sampler().topK() > 0 || c.sampler().topP() < 1)) {
            progress.println(
                    "generate: warning: --top-k and --top-p change nothing with --temperature 0"
                            + " (greedy)");
        }
    }

    /** {@code ids} up to (without) the first {@code [SEP]}: a target's end in mlm-seq2seq rows. */
    static int[] untilSep(LmTokenizer tok, int[] ids) {
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
     * Refuses rows longer than a learned position table and causal prompts that leave no room,
     * before the weights are read; warns when a causal prompt leaves less room than asked for, or a
     * reference cannot be matched in {@code maxNewTokens}.
     */
    private static void checkLengths(
            Config c,
            ModelConfig model,
            LmTokenizer tok,
            int maxNewTokens,
            List<PredictRow> rows,
            PrintWriter progress) {
        int limit = model.maxPositions();
        if (model.causal()) {
            for (int i = 0; i < c.prompts().size(); i++) {
                int tokens = tok.encode(c.prompts().get(i)).length();
                String with = "";
                if (c.infilling()) {
                    // <fim_prefix> prefix <fim_suffix> suffix <fim_middle>
                    tokens += tok.encode(c.suffix(i)).length() + 3;
                    with = " with its --suffix and the FIM sentinels";
                }
                tokens = Math.max(1, tokens); // an empty prompt starts after EOS
                if (tokens >= limit) {
                    throw new BadInputException(
                            "--prompt "
                                    + (i + 1)
                                    + " is "
                                    + tokens
                                    + " tokens"
                                    + with
                                    + ", which leaves no room under the model's max_positions "
                                    + limit
                                    + "; shorten it");
                }
                if (tokens + maxNewTokens > limit) {
                    progress.printf(
                            "generate: warning: --prompt %d is %d tokens%s; the model's"
                                    + " max_positions %d leaves room for %d of --max-new-tokens"
                                    + " %d%n",
                            i + 1, tokens, with, limit, limit - tokens, maxNewTokens);
                }
            }
            return;
        }
        boolean learned = model.positions().equals("learned");
        String fix = "; lower --max-new-tokens or shorten the input";
        if (c.numSamples() > 0 && learned && maxNewTokens > limit) {
            throw new BadInputException(
                    "--max-new-tokens "
                            + maxNewTokens
                            + " is more than the model's max_positions "
                            + limit
                            + "; lower it");
        }
        SpecialTokenIds s = tok.specials();
        int framing = (s.cls() != null ? 1 : 0) + (s.sep() != null ? 1 : 0);
        for (int i = 0; i < c.prompts().size(); i++) {
            int length = tok.encode(c.prompts().get(i)).length() + framing + maxNewTokens;
            if (learned && length > limit) {
                throw new BadInputException(
                        "--prompt "
                                + (i + 1)
                                + " with --max-new-tokens "
                                + maxNewTokens
                                + " is "
                                + length
                                + " positions, more than the model's max_positions "
                                + limit
                                + fix);
            }
        }
        if (rows != null) {
            if (rows.isEmpty()) {
                throw new BadInputException(
                        "--split " + c.split() + " of --data " + c.data() + " has no rows");
            }
            int longestPrefix = 0;
            int unreachable = 0;
            for (PredictRow r : rows) {
                longestPrefix = Math.max(longestPrefix, Arrays.stream(r.attentionMask()).sum());
                if (untilSep(tok, r.targetIds()).length > maxNewTokens) {
                    unreachable++;
                }
            }
            if (learned && longestPrefix + maxNewTokens > limit) {
                throw new BadInputException(
                        "--data rows of up to "
                                + longestPrefix
                                + " prefix tokens with --max-new-tokens "
                                + maxNewTokens
                                + " are "
                                + (longestPrefix + maxNewTokens)
                                + " positions, more than the model's max_positions "
                                + limit
                                + "; lower --max-new-tokens");
            }
            if (unreachable > 0) {
                progress.printf(
                        "generate: warning: %d of %d references are longer than --max-new-tokens"
                                + " %d and cannot match exactly%n",
                        unreachable, rows.size(), maxNewTokens);
            }
        }
    }

    private static Device device(DeviceChoice choice) {
        return switch (choice) {
            case AUTO -> Devices.forTask(null);
            case CPU -> Device.cpu();
            case GPU -> {
                if (Devices.engine().getGpuCount() == 0) {
                    throw new BadInputException(
                            "--device gpu: the PyTorch engine sees no GPU (a CUDA build and a"
                                    + " visible GPU are needed); use --device cpu");
                }
                yield Device.gpu(0);
            }
        };
    }

    // --- the dataset ---------------------------------------------------------------------------

    /**
     * The prepared dataset {@code --data}, checked to be an mlm-seq2seq dataset whose {@code
     * --split} holds prediction rows tokenized with the model's tokenizer.
     */
    private static PreparedDataset dataset(Config c, byte[] tokenizerJson, Configuration hadoop) {
        PreparedDataset d = PreparedDataset.open(c.data(), hadoop);
        if (!d.objective().equals(SEQ2SEQ)) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " is a "
                            + d.objective()
                            + " dataset; generate predicts the rows of one prepared with"
                            + " --objective "
                            + SEQ2SEQ);
        }
        if (!d.hasSplit(c.split())) {
            throw new BadInputException(
                    "--split "
                            + c.split()
                            + " is not in --data "
                            + c.data()
                            + "; it has "
                            + String.join(", ", d.splits())
                            + " (use predict)");
        }
        if (!d.paddingSide(c.split()).equals("left") || !d.hasTargetIds(c.split())) {
            throw new BadInputException(
                    "--split "
                            + c.split()
                            + " of --data "
                            + c.data()
                            + " holds training rows, not prediction rows (a left-padded prefix"
                            + " and target_ids); use --split predict");
        }
        if (!d.tokenizerSha256().equals(TokenizerSource.sha256(tokenizerJson))) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " was tokenized with another tokenizer than the model's (its"
                            + " tokenizer/tokenizer.json differs); prepare the data with the"
                            + " tokenizer the model was trained with");
        }
        return d;
    }

    /** The first {@code limit} rows of the {@code --split}, by {@code example_id}. */
    static List<PredictRow> readRows(Config c, PreparedDataset dataset, Configuration hadoop) {
        long n = dataset.numExamples(c.split());
        long to = c.limit() != null ? Math.min(n, c.limit()) : n;
        List<PredictRow> out = new ArrayList<>();
        try (ExampleReader reader = new ExampleReader(dataset, c.split(), hadoop, 1)) {
            Examples rows = reader.read(0, to);
            int t = rows.length();
            for (int r = 0; r < rows.rows(); r++) {
                byte[] mask = Examples.row(rows.attentionMask(), r, t);
                int[] attention = new int[t];
                for (int i = 0; i < t; i++) {
                    attention[i] = mask[i];
                }
                out.add(
                        new PredictRow(
                                rows.exampleId()[r],
                                Examples.row(rows.inputIds(), r, t),
                                attention,
                                Examples.row(rows.targetIds(), r, t)));
            }
        } catch (IOException e) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + ": cannot read its "
                            + c.split()
                            + " rows: "
                            + e.getMessage(),
                    e);
        }
        return out;
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
