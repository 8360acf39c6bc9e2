package dev.lmspark.generate;

import dev.lmspark.data.BadInputException;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.model.generate.TokenSampler;
import java.util.List;

/**
 * Builds a {@link GenerateJob.Config} the way DJL's builders do: {@code set…} for what is required,
 * {@code opt…} for the rest with the default written here once (the command line's defaults);
 * {@link #build} checks the whole and names the flag at fault.
 */
public final class GenerateConfigBuilder {
    private String checkpoint;
    private String tokenizer;
    private List<String> prompts = List.of();
    private List<String> suffixes = List.of();
    private int numSamples;
    private String data;
    private String split = "predict";
    private Integer limit;
    private int batchSize = 16;
    private Integer maxNewTokens;
    private Integer steps;
    private TokenSampler sampler = new TokenSampler(1.0, 0, 1.0);
    private long seed = 42;
    private NoiseSchedule schedule = NoiseSchedule.LINEAR;
    private IterativeUnmasking.Order order = IterativeUnmasking.Order.RANDOM;
    private String history;
    private int historyTopK = 5;
    private boolean overwrite;
    private boolean stopAtEos = true;
    private boolean kvCache = true;
    private boolean keepSpecialTokens;
    private boolean newTextOnly;
    private GenerateJob.DeviceChoice device = GenerateJob.DeviceChoice.AUTO;

    GenerateConfigBuilder() {}

    /** {@code --checkpoint}: a checkpoint, or a train output (its latest). */
    public GenerateConfigBuilder setCheckpoint(String checkpoint) {
        this.checkpoint = checkpoint;
        return this;
    }

    /** {@code --tokenizer} (default: the checkpoint's). */
    public GenerateConfigBuilder optTokenizer(String tokenizer) {
        this.tokenizer = tokenizer;
        return this;
    }

    /** {@code --prompt}, one result each. */
    public GenerateConfigBuilder optPrompts(List<String> prompts) {
        this.prompts = prompts;
        return this;
    }

    /** {@code --suffix}: infill between each prompt and its suffix (causal LMs). */
    public GenerateConfigBuilder optSuffixes(List<String> suffixes) {
        this.suffixes = suffixes;
        return this;
    }

    /** {@code --num-samples}: unconditional samples. */
    public GenerateConfigBuilder optNumSamples(int numSamples) {
        this.numSamples = numSamples;
        return this;
    }

    /** {@code --data} and {@code --split}: a mlm-seq2seq dataset's rows to predict. */
    public GenerateConfigBuilder optData(String data, String split) {
        this.data = data;
        this.split = split;
        return this;
    }

    /** {@code --limit}: the first N rows of the split only. */
    public GenerateConfigBuilder optLimit(Integer limit) {
        this.limit = limit;
        return this;
    }

    /** {@code --batch-size} (default 16). */
    public GenerateConfigBuilder optBatchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    /**
     * {@code --max-new-tokens} (default {@value GenerateJob.Config#DEFAULT_MAX_NEW_TOKENS}, or the
     * row's).
     */
    public GenerateConfigBuilder optMaxNewTokens(Integer maxNewTokens) {
        this.maxNewTokens = maxNewTokens;
        return this;
    }

    /** {@code --steps}: unmasking steps (default: one per new token). */
    public GenerateConfigBuilder optSteps(Integer steps) {
        this.steps = steps;
        return this;
    }

    /**
     * The sampling: see {@link GenerateJob.Config#sampler} (default: temperature 1, no top-k/p).
     */
    public GenerateConfigBuilder optSampler(TokenSampler sampler) {
        this.sampler = sampler;
        return this;
    }

    /** {@code --seed} (default 42). */
    public GenerateConfigBuilder optSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /** {@code --schedule} (default linear). */
    public GenerateConfigBuilder optSchedule(NoiseSchedule schedule) {
        this.schedule = schedule;
        return this;
    }

    /** {@code --order} (default random). */
    public GenerateConfigBuilder optOrder(IterativeUnmasking.Order order) {
        this.order = order;
        return this;
    }

    /** {@code --history} and {@code --history-top-k} (default 5). */
    public GenerateConfigBuilder optHistory(String history, int historyTopK) {
        this.history = history;
        this.historyTopK = historyTopK;
        return this;
    }

    /** {@code --overwrite}: replace an existing {@code --history} folder. */
    public GenerateConfigBuilder optOverwrite(boolean overwrite) {
        this.overwrite = overwrite;
        return this;
    }

    /** Not {@code --ignore-eos} (default: stop at EOS). */
    public GenerateConfigBuilder optStopAtEos(boolean stopAtEos) {
        this.stopAtEos = stopAtEos;
        return this;
    }

    /** Not {@code --no-kv-cache} (default: the cache on). */
    public GenerateConfigBuilder optKvCache(boolean kvCache) {
        this.kvCache = kvCache;
        return this;
    }

    /** {@code --keep-special-tokens}. */
    public GenerateConfigBuilder optKeepSpecialTokens(boolean keepSpecialTokens) {
        this.keepSpecialTokens = keepSpecialTokens;
        return this;
    }

    /** {@code --new-text-only}. */
    public GenerateConfigBuilder optNewTextOnly(boolean newTextOnly) {
        this.newTextOnly = newTextOnly;
        return this;
    }

    /** {@code --device} (default auto). */
    public GenerateConfigBuilder optDevice(GenerateJob.DeviceChoice device) {
        this.device = device;
        return this;
    }

    /**
     * The config.
     *
     * @throws BadInputException naming the flag at fault
     */
    public GenerateJob.Config build() {
        if (checkpoint == null) {
            throw new BadInputException("--checkpoint is required: a checkpoint or a train output");
        }
        return new GenerateJob.Config(
                checkpoint,
                tokenizer,
                prompts,
                suffixes,
                numSamples,
                data,
                split,
                limit,
                batchSize,
                maxNewTokens,
                steps,
                sampler,
                seed,
                schedule,
                order,
                history,
                historyTopK,
                overwrite,
                stopAtEos,
                kvCache,
                keepSpecialTokens,
                newTextOnly,
                device);
    }
}
