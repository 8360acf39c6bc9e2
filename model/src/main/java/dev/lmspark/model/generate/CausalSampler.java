package dev.lmspark.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.collate.FillInTheMiddle;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.task.CausalLm;
import java.util.Arrays;

/**
 * Sampling from a causal LM, one token at a time, and fill-in-the-middle infilling.
 *
 * <p>Each step draws the next token from the last position's logits with the {@link TokenSampler}
 * (greedy, temperature, top-k, top-p); the draw of step k (0 = the first new token) comes from
 * {@code Seeds.random(seed, rowKey, k)}. Generation stops after {@code maxNewTokens} tokens, at EOS
 * when told to, or when the sequence reaches the model's {@code max_positions}. With the KV cache
 * (the default) the prompt is run once and each step runs only the newest token ({@link
 * Transformer#forwardIncremental}); without it every step runs the whole sequence again, which
 * gives the same tokens (the check the cache is tested by) at quadratic cost.
 *
 * <p>An empty prompt starts after EOS, which the data-prep code puts after every document, so the
 * model begins a new one. The stop token is kept in {@code ids} (as Hugging Face does) and left out
 * of {@code outputText}.
 *
 * <p>Infilling builds the PSM prompt exactly as data-prep's {@link FillInTheMiddle} arranges a
 * training example, {@code <fim_prefix> prefix <fim_suffix> suffix <fim_middle>}, and generates the
 * middle until EOS (which ends the middle in training) or {@code <fim_pad>} (which cannot be part
 * of a middle).
 *
 * <p>Each step's arrays live in an {@link NDScope}; the cache's own arrays are freed at the end.
 */
public final class CausalSampler {
    private final CausalLm model;
    private final LmTokenizer tokenizer;
    private final int maxNewTokens;
    private final TokenSampler sampler;
    private final long seed;
    private final boolean stopAtEos;
    private final boolean kvCache;
    private final boolean skipSpecialTokens;

    private CausalSampler(Builder b) {
        model = b.model;
        tokenizer = b.tokenizer;
        maxNewTokens = b.maxNewTokens;
        sampler = b.sampler;
        seed = b.seed;
        stopAtEos = b.stopAtEos;
        kvCache = b.kvCache;
        skipSpecialTokens = b.skipSpecialTokens;
    }

    /** A builder; the model and the tokenizer are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** Continues {@code prompt} (row key 0). */
    public Generated generate(String prompt) {
        return generate(tokenizer.encode(prompt).ids(), 0);
    }

    /**
     * Continues {@code promptIds}.
     *
     * @param rowKey the key of this sequence's random draws (e.g. its example id)
     */
    public Generated generate(int[] promptIds, long rowKey) {
        int eos = eos();
        return run(promptIds.length == 0 ? new int[] {eos} : promptIds, rowKey, eos);
    }

    /**
     * The middle between {@code prefix} and {@code suffix}, in {@code outputText} (row key 0).
     *
     * @throws IllegalStateException when the tokenizer has no FIM sentinels
     */
    public Generated infill(String prefix, String suffix) {
        return run(fimPrompt(prefix, suffix), 0, eos(), tokenizer.specials().fimPad());
    }

    /**
     * The PSM prompt {@code <fim_prefix> prefix <fim_suffix> suffix <fim_middle>}: a training
     * example of {@link FillInTheMiddle} with an empty middle.
     */
    public int[] fimPrompt(String prefix, String suffix) {
        SpecialTokenIds s = tokenizer.specials();
        if (!s.hasFim()) {
            throw new IllegalStateException(
                    "the tokenizer has no FIM sentinels (<fim_prefix> <fim_middle> <fim_suffix>"
                            + " <fim_pad>); infilling needs a tokenizer trained with them (bpe)");
        }
        FillInTheMiddle psm =
                new FillInTheMiddle(1, 0, s.fimPrefix(), s.fimMiddle(), s.fimSuffix(), s.fimPad());
        return psm.arrange(
                tokenizer.encode(prefix).ids(), new int[0], tokenizer.encode(suffix).ids(), false);
    }

    private int eos() {
        Integer eos = tokenizer.specials().eos();
        if (eos == null) {
            throw new IllegalStateException(
                    "the tokenizer has no EOS (<|endoftext|> or [SEP]); causal generation needs"
                            + " one");
        }
        return eos;
    }

    private Generated run(int[] prompt, long rowKey, int... stops) {
        long started = System.nanoTime();
        int limit = model.trunk().config().maxPositions();
        if (prompt.length >= limit) {
            throw new IllegalArgumentException(
                    "a prompt of "
                            + prompt.length
                            + " tokens leaves no room under the model's max_positions "
                            + limit);
        }
        int[] ids = Arrays.copyOf(prompt, Math.min(limit, prompt.length + maxNewTokens));
        int length = prompt.length;
        boolean stopped = false;
        NDArray anyParameter = model.trunk().parameters().get("embeddings.word");
        try (NDManager manager =
                        NDManager.newBaseManager(anyParameter.getDevice(), Devices.ENGINE);
                Transformer.KvCache cache = kvCache ? model.trunk().newCache() : null) {
            int fed = 0; // positions already in the cache
            while (length < ids.length && !stopped) {
                float[] logits;
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    int from = kvCache ? fed : 0;
                    long[] window = new long[length - from];
                    for (int i = 0; i < window.length; i++) {
                        window[i] = ids[from + i];
                    }
                    NDArray input = manager.create(window, new Shape(1, window.length));
                    NDArray all =
                            kvCache
                                    ? model.forwardIncremental(input, null, null, cache)
                                    : model.forward(input, null, null);
                    logits =
                            all.get(new NDIndex("0, -1, :"))
                                    .toType(DataType.FLOAT32, false)
                                    .toFloatArray();
                    fed = length;
                }
                int step = length - prompt.length;
                int token =
                        sampler.sample(logits, 0, logits.length, Seeds.random(seed, rowKey, step));
                ids[length++] = token;
                stopped = stopAtEos && Arrays.stream(stops).anyMatch(s -> s == token);
            }
        }
        ids = Arrays.copyOf(ids, length);
        int end = stopped ? length - 1 : length;
        long ms = (System.nanoTime() - started) / 1_000_000;
        return new Generated(
                ids,
                prompt.length,
                tokenizer.decode(ids, skipSpecialTokens),
                tokenizer.decode(Arrays.copyOfRange(ids, prompt.length, end), skipSpecialTokens),
                ms);
    }

    /** Options of {@link CausalSampler}; {@link #build} validates them, naming the bad one. */
    public static final class Builder {
        private CausalLm model;
        private LmTokenizer tokenizer;
        private int maxNewTokens = 64;
        private TokenSampler sampler = TokenSampler.DEFAULT;
        private long seed;
        private boolean stopAtEos = true;
        private boolean kvCache = true;
        private boolean skipSpecialTokens = true;

        private Builder() {}

        /** The causal LM (Llama or BERT architecture). */
        public Builder setModel(CausalLm model) {
            this.model = model;
            return this;
        }

        /** The tokenizer: encoding, decoding, EOS and the FIM sentinels. */
        public Builder setTokenizer(LmTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /** The most tokens generated. Default 64. */
        public Builder optMaxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /** How tokens are drawn. Default {@link TokenSampler#DEFAULT} (plain sampling). */
        public Builder optSampler(TokenSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /** The root seed of every draw. Default 0. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Whether EOS ends generation. Default true. */
        public Builder optStopAtEos(boolean stop) {
            this.stopAtEos = stop;
            return this;
        }

        /** Whether to decode incrementally through a KV cache. Default true. */
        public Builder optKvCache(boolean useCache) {
            this.kvCache = useCache;
            return this;
        }

        /** Whether decoded text leaves out special tokens. Default true. */
        public Builder optSkipSpecialTokens(boolean skip) {
            this.skipSpecialTokens = skip;
            return this;
        }

        public CausalSampler build() {
            if (model == null) {
                throw new IllegalArgumentException("a model is required (setModel)");
            }
            if (tokenizer == null) {
                throw new IllegalArgumentException("a tokenizer is required (setTokenizer)");
            }
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException(
                        "max new tokens " + maxNewTokens + " must be at least 1");
            }
            if (sampler == null) {
                throw new IllegalArgumentException("the sampler must not be null");
            }
            return new CausalSampler(this);
        }
    }
}
