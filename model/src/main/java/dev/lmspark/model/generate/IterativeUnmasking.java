package dev.lmspark.model.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.MaskedLm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The XLM framework's iterative-unmasking predictor ({@code MLMPredictor}): a masked LM fills
 * {@code [MASK]} positions over a number of steps, each step scoring the whole sequence and
 * unmasking a share of the positions still masked, until none is left.
 *
 * <p>Rows: B rows of one length T₀, left-padded so every prefix ends at the same position (the
 * {@code predict} split of an {@code mlm-seq2seq} dataset), then {@code maxNewTokens} {@code
 * [MASK]} positions appended to each; position ids count from each row's first real token ({@code
 * max(0, cumsum(mask) − 1)}). Every {@code [MASK]} among the real tokens is filled, the appended
 * ones and any in the input. Conditional generation is a prompt row {@code [CLS] prompt [SEP]} (the
 * form of a seq2seq prediction row) with the new positions after it; unconditional generation is a
 * row of {@code maxNewTokens} masks alone.
 *
 * <p>Step k+1 of S (k = 0 … S−1), for each row with m masked positions: {@link
 * NoiseSchedule#stillMasked} of them stay masked, the other n are unmasked — chosen uniformly at
 * random ({@link Order#RANDOM}, as the seed) or the n where the sampled token is most likely
 * ({@link Order#CONFIDENCE}) — and get a token drawn by the {@link TokenSampler}. The loop ends
 * after step S, or earlier once nothing is masked. Decisions the seed leaves open, pinned here:
 *
 * <ul>
 *   <li>{@code [MASK]} itself is never drawn (its score is set to −∞), so no mask survives the last
 *       step.
 *   <li>Row r's draws at step k come from {@code Seeds.random(seed, key(r), k)}, key(r) the row's
 *       key (its {@code example_id} for dataset rows; its index in the batch by default): first the
 *       positions (random order), then one token per position in increasing position order.
 *   <li>Confidence is the probability of the drawn token under the model's own distribution
 *       (softmax of the scores, temperature 1, before top-k/top-p), as LLaDA's low-confidence
 *       remasking; equal confidences go to the lower position first. It draws a token at every
 *       masked position and keeps the n most confident.
 *   <li>Temperature 0 is greedy; top-k and top-p may be combined (Hugging Face's order), where the
 *       seed refuses the combination.
 *   <li>The seed runs one more model call after its last step to fill what is left; here the
 *       schedule leaves nothing after step S, so that call would change nothing and is skipped.
 * </ul>
 *
 * <p>History (optional): after each step k, for each row, one file {@code row-<key>/step-<k>.jsonl}
 * with one line per output position: {@code {"format_version":1,"row":…,"step":k,"position":…,
 * "token":…,"top_ids":[…],"top_probs":[…]}} — the token there after the step and the step's top-k
 * of the model's softmax (temperature 1), as XLM's {@code HistoryTopKPlugin} dumps them.
 *
 * <p>Each step's arrays live in an {@link NDScope}, so memory stays flat however many steps run.
 */
public final class IterativeUnmasking {
    /** The version of the history files this class writes. */
    public static final int HISTORY_FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Which masked positions a step unmasks. */
    public enum Order {
        /** Uniformly at random among the masked positions (as XLM's {@code MLMPredictor}). */
        RANDOM,
        /** Those whose drawn token the model is most sure of. */
        CONFIDENCE
    }

    private final TokenScorer model;
    private final Device device;
    private final LmTokenizer tokenizer;
    private final int maskId;
    private final int maxSteps;
    private final int maxNewTokens;
    private final NoiseSchedule schedule;
    private final TokenSampler sampler;
    private final Order order;
    private final boolean skipSpecialTokens;
    private final long seed;
    private final HistorySink history;
    private final int historyTopK;

    private IterativeUnmasking(Builder b) {
        model = b.model;
        device = b.device;
        tokenizer = b.tokenizer;
        maskId = b.tokenizer.specials().mask();
        maxSteps = b.maxSteps;
        maxNewTokens = b.maxNewTokens;
        schedule = b.schedule;
        sampler = b.sampler;
        order = b.order;
        skipSpecialTokens = b.skipSpecialTokens;
        seed = b.seed;
        history = b.history;
        historyTopK = b.historyTopK;
    }

    /** A builder; the model, the tokenizer and the number of steps are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fills the masks of left-padded rows and of {@code maxNewTokens} positions appended to each.
     *
     * @param inputIds B rows of equal length T₀ (0 is allowed: unconditional generation)
     * @param attentionMask 1 real / 0 padding, same shape; null = all real
     * @param rowKeys each row's key for its random draws and history files; null = 0 … B−1
     * @return one result per row, in order; {@code outputStart} = T₀ when tokens are appended, else
     *     0 (the masks to fill are the input's own)
     */
    public List<Generated> predict(int[][] inputIds, int[][] attentionMask, long[] rowKeys) {
        long started = System.nanoTime();
        int b = inputIds.length;
        int t0 = b == 0 ? 0 : inputIds[0].length;
        UnmaskingRows.checkRows(inputIds, attentionMask, rowKeys, t0);
        int t = t0 + maxNewTokens;
        int outputStart = maxNewTokens > 0 ? t0 : 0;
        int[][] x = new int[b][t];
        boolean[][] real = new boolean[b][t];
        long[] positions = new long[b * t];
        for (int r = 0; r < b; r++) {
            System.arraycopy(inputIds[r], 0, x[r], 0, t0);
            Arrays.fill(x[r], t0, t, maskId);
            int seen = 0;
            for (int i = 0; i < t; i++) {
                real[r][i] = i >= t0 || attentionMask == null || attentionMask[r][i] == 1;
                seen += real[r][i] ? 1 : 0;
                positions[r * t + i] = Math.max(0, seen - 1);
            }
        }
        long[] keys = rowKeys != null ? rowKeys : UnmaskingRows.defaultKeys(b);
        try (NDManager manager = NDManager.newBaseManager(device, Devices.ENGINE)) {
            for (int step = 0; step < maxSteps && anyMasked(x, real); step++) {
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray scores =
                            model.scores(
                                    manager.create(UnmaskingRows.flatten(x), new Shape(b, t)),
                                    manager.create(UnmaskingRows.flatten(real), new Shape(b, t)),
                                    manager.create(positions, new Shape(b, t)));
                    int v = (int) scores.getShape().get(2);
                    NDArray flat = scores.reshape((long) b * t, v);
                    for (int r = 0; r < b; r++) {
                        unmask(x[r], real[r], flat, (long) r * t, v, keys[r], step, manager);
                    }
                    if (history != null) {
                        writeHistory(scores, x, real, keys, outputStart, step + 1);
                    }
                }
            }
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        List<Generated> out = new ArrayList<>(b);
        for (int r = 0; r < b; r++) {
            out.add(
                    new Generated(
                            x[r],
                            outputStart,
                            decode(x[r], real[r], 0),
                            decode(x[r], real[r], outputStart),
                            ms));
        }
        return out;
    }

    /**
     * Conditional generation: {@code [CLS] prompt [SEP]} (the tokens the tokenizer has) followed by
     * {@code maxNewTokens} generated ones; row key 0.
     */
    public Generated generate(String prompt) {
        requireNewTokens();
        SpecialTokenIds s = tokenizer.specials();
        int[] text = tokenizer.encode(prompt).ids();
        int[] row = new int[text.length + (s.cls() != null ? 1 : 0) + (s.sep() != null ? 1 : 0)];
        int at = 0;
        if (s.cls() != null) {
            row[at++] = s.cls();
        }
        System.arraycopy(text, 0, row, at, text.length);
        if (s.sep() != null) {
            row[row.length - 1] = s.sep();
        }
        return predict(new int[][] {row}, null, null).get(0);
    }

    /**
     * Unconditional generation: {@code rows} rows of {@code maxNewTokens} masks, keys 0 … rows−1.
     */
    public List<Generated> unconditional(int rows) {
        requireNewTokens();
        return predict(new int[rows][0], null, null);
    }

    private void requireNewTokens() {
        if (maxNewTokens == 0) {
            throw new IllegalStateException(
                    "max new tokens is 0: there is nothing to generate; set optMaxNewTokens");
        }
    }

    /** One row's unmasking at {@code step}: writes the chosen positions' tokens into {@code x}. */
    private void unmask(
            int[] x,
            boolean[] real,
            NDArray flatScores,
            long rowStart,
            int v,
            long key,
            int step,
            NDManager manager) {
        int[] masked = maskedPositions(x, real);
        int n = masked.length - schedule.stillMasked(masked.length, step, maxSteps);
        if (n == 0) {
            return;
        }
        SplittableRandom random = Seeds.random(seed, key, step);
        int[] candidates = order == Order.RANDOM ? UnmaskingRows.choose(masked, n, random) : masked;
        float[] scores = rows(flatScores, rowStart, candidates, manager);
        int[] tokens = new int[candidates.length];
        double[] confidence = new double[candidates.length];
        for (int j = 0; j < candidates.length; j++) {
            int offset = j * v;
            scores[offset + maskId] = Float.NEGATIVE_INFINITY;
            tokens[j] = sampler.sample(scores, offset, v, random);
            if (order == Order.CONFIDENCE) {
                confidence[j] = TokenSampler.probability(scores, offset, v, tokens[j]);
            }
        }
        if (order == Order.RANDOM) {
            for (int j = 0; j < candidates.length; j++) {
                x[candidates[j]] = tokens[j];
            }
            return;
        }
        Integer[] ranked = new Integer[candidates.length];
        for (int j = 0; j < ranked.length; j++) {
            ranked[j] = j;
        }
        // Stable sort: equal confidences keep increasing position order.
        Arrays.sort(ranked, (a, c) -> Double.compare(confidence[c], confidence[a]));
        for (int j = 0; j < n; j++) {
            x[candidates[ranked[j]]] = tokens[ranked[j]];
        }
    }

    private int[] maskedPositions(int[] x, boolean[] real) {
        int count = 0;
        int[] out = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            if (real[i] && x[i] == maskId) {
                out[count++] = i;
            }
        }
        return Arrays.copyOf(out, count);
    }

    /** The score rows of {@code positions} of one batch row, {@code (n × V)} flat. */
    private static float[] rows(
            NDArray flatScores, long rowStart, int[] positions, NDManager manager) {
        long[] index = new long[positions.length];
        for (int j = 0; j < index.length; j++) {
            index[j] = rowStart + positions[j];
        }
        return flatScores.get(manager.create(index)).toType(DataType.FLOAT32, false).toFloatArray();
    }

    private void writeHistory(
            NDArray scores, int[][] x, boolean[][] real, long[] keys, int outputStart, int step) {
        int b = x.length;
        int t = x[0].length;
        int width = t - outputStart;
        int k = (int) Math.min(historyTopK, scores.getShape().get(2));
        NDList top =
                scores.get(new NDIndex(":, {}:, :", outputStart))
                        .toType(DataType.FLOAT32, false)
                        .softmax(-1)
                        .topK(k, -1);
        float[] probs = top.get(0).toFloatArray();
        long[] ids = top.get(1).toType(DataType.INT64, false).toLongArray();
        for (int r = 0; r < b; r++) {
            ByteArrayOutputStream file = new ByteArrayOutputStream();
            for (int i = 0; i < width; i++) {
                int p = outputStart + i;
                if (!real[r][p]) {
                    continue;
                }
                ObjectNode line = JSON.createObjectNode();
                line.put("format_version", HISTORY_FORMAT_VERSION);
                line.put("row", keys[r]);
                line.put("step", step);
                line.put("position", p);
                line.put("token", x[r][p]);
                int at = (r * width + i) * k;
                var topIds = line.putArray("top_ids");
                var topProbs = line.putArray("top_probs");
                for (int j = 0; j < k; j++) {
                    topIds.add(ids[at + j]);
                    topProbs.add(probs[at + j]);
                }
                file.writeBytes(line.toString().getBytes(StandardCharsets.UTF_8));
                file.write('\n');
            }
            String path = "row-" + keys[r] + "/step-" + step + ".jsonl";
            try {
                history.write(path, file.toByteArray());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write history file " + path, e);
            }
        }
    }

    private String decode(int[] x, boolean[] real, int from) {
        int[] kept = new int[x.length];
        int n = 0;
        for (int i = from; i < x.length; i++) {
            if (real[i]) {
                kept[n++] = x[i];
            }
        }
        return tokenizer.decode(Arrays.copyOf(kept, n), skipSpecialTokens);
    }

    private boolean anyMasked(int[][] x, boolean[][] real) {
        for (int r = 0; r < x.length; r++) {
            if (maskedPositions(x[r], real[r]).length > 0) {
                return true;
            }
        }
        return false;
    }

    /** Options of {@link IterativeUnmasking}; {@link #build} validates them, naming the bad one. */
    public static final class Builder {
        private TokenScorer model;
        private Device device;
        private LmTokenizer tokenizer;
        private int maxSteps;
        private int maxNewTokens;
        private NoiseSchedule schedule = NoiseSchedule.LINEAR;
        private TokenSampler sampler = TokenSampler.DEFAULT;
        private Order order = Order.RANDOM;
        private boolean skipSpecialTokens = true;
        private long seed;
        private HistorySink history;
        private int historyTopK;

        private Builder() {}

        /** A BERT pretraining model; its arrays' device is used. */
        public Builder setModel(BertForPretraining model) {
            this.model = TokenScorer.of(model);
            this.device = model.trunk().parameters().get("embeddings.word").getDevice();
            return this;
        }

        /** A rotary masked LM (XLM's {@code RotaryTransformerMLMModel}); its device is used. */
        public Builder setModel(MaskedLm model) {
            this.model = TokenScorer.of(model);
            this.device = model.trunk().parameters().get("embeddings.word").getDevice();
            return this;
        }

        /** Any masked LM, with the device its inputs go to. */
        public Builder setModel(TokenScorer model, Device device) {
            this.model = model;
            this.device = device;
            return this;
        }

        /** The tokenizer: its {@code [MASK]} id, {@code [CLS]}/{@code [SEP]}, and decoding. */
        public Builder setTokenizer(LmTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /** The number of unmasking steps S (XLM's {@code max_steps}), at least 1. */
        public Builder setMaxSteps(int maxSteps) {
            this.maxSteps = maxSteps;
            return this;
        }

        /** Masked positions appended after each row. Default 0 (fill only the input's masks). */
        public Builder optMaxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /** The noise schedule. Default {@link NoiseSchedule#LINEAR}. */
        public Builder optNoiseSchedule(NoiseSchedule schedule) {
            this.schedule = schedule;
            return this;
        }

        /** How tokens are drawn. Default {@link TokenSampler#DEFAULT} (plain sampling). */
        public Builder optSampler(TokenSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /** Which positions each step unmasks. Default {@link Order#RANDOM}. */
        public Builder optOrder(Order order) {
            this.order = order;
            return this;
        }

        /** Whether decoded text leaves out special tokens. Default true (as the seed). */
        public Builder optSkipSpecialTokens(boolean skip) {
            this.skipSpecialTokens = skip;
            return this;
        }

        /** The root seed of every draw. Default 0. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Writes the top {@code k} tokens of every step to {@code sink}. Default: no history. */
        public Builder optHistory(HistorySink sink, int k) {
            this.history = sink;
            this.historyTopK = k;
            return this;
        }

        public IterativeUnmasking build() {
            if (model == null || device == null) {
                throw new IllegalArgumentException("a model is required (setModel)");
            }
            if (tokenizer == null) {
                throw new IllegalArgumentException("a tokenizer is required (setTokenizer)");
            }
            if (tokenizer.specials().mask() == null) {
                throw new IllegalArgumentException(
                        "the tokenizer has no [MASK] token; iterative unmasking needs one");
            }
            if (maxSteps < 1) {
                throw new IllegalArgumentException("max steps " + maxSteps + " must be at least 1");
            }
            if (maxNewTokens < 0) {
                throw new IllegalArgumentException(
                        "max new tokens " + maxNewTokens + " must be 0 or more");
            }
            if (schedule == null || sampler == null || order == null) {
                throw new IllegalArgumentException(
                        "noise schedule, sampler and order must not be null");
            }
            if (history != null && historyTopK < 1) {
                throw new IllegalArgumentException(
                        "history top-k " + historyTopK + " must be at least 1");
            }
            return new IterativeUnmasking(this);
        }
    }
}
