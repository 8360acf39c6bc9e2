package dev.lmspark.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A transformer trunk: token ids {@code (B, T)} to hidden states {@code (B, T, H)}.
 *
 * <p>Letters: B batch, T time, H hidden, A heads, D = H/A head size, I intermediate, V vocabulary.
 * The attention mask {@code (B, T)} is 1 at real tokens and 0 at padding; padded keys get no weight
 * (the most negative finite score before the softmax), whichever side the padding is on, so the
 * hidden states of real tokens do not depend on how much padding follows. Position ids {@code (B,
 * T)} may be given (left-padded rows count from their first real token); by default they are 0…T−1.
 *
 * <p>Parameter names: {@code embeddings.word}, {@code embeddings.position} (learned positions),
 * {@code embeddings.token_type}, {@code embeddings.norm.*} (post-LN models), then per layer i
 * {@code layers.i.attention.{query,key,value,output}.{weight,bias}}, {@code
 * layers.i.attention_norm.*}, {@code layers.i.mlp.{up,down[,gate]}.{weight,bias}}, {@code
 * layers.i.mlp_norm.*}, and {@code final_norm.*} (pre-LN models). Linear weights are {@code (out,
 * in)}, as PyTorch stores them.
 */
public final class Transformer {
    private final ModelConfig config;
    private final Map<String, NDArray> parameters;

    /** Wraps existing parameters (loaded from a checkpoint or a Hugging Face folder). */
    public Transformer(ModelConfig config, Map<String, NDArray> parameters) {
        this.config = config;
        this.parameters = parameters;
        for (String name : parameterShapes(config).keySet()) {
            if (!parameters.containsKey(name)) {
                throw new IllegalArgumentException("missing parameter " + name);
            }
        }
    }

    /**
     * Fresh parameters on {@code manager}: normal(0, initializer_range) for matrices and
     * embeddings, ones for norm weights, zeros for biases; parameter p draws from (seed, p's name).
     */
    public static Transformer initialize(ModelConfig config, NDManager manager, long seed) {
        return new Transformer(
                config,
                Initialization.initialize(
                        parameterShapes(config), config.initializerRange(), manager, seed));
    }

    /** Every parameter's name and shape, in a fixed order. */
    public static Map<String, Shape> parameterShapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        int h = c.hiddenSize();
        s.put("embeddings.word", new Shape(c.vocabSize(), h));
        if (c.positions().equals("learned")) {
            s.put("embeddings.position", new Shape(c.maxPositions(), h));
        }
        if (c.typeVocabSize() > 0) {
            s.put("embeddings.token_type", new Shape(c.typeVocabSize(), h));
        }
        if (!c.preNorm()) {
            norm(s, c, "embeddings.norm");
        }
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "layers." + i + ".";
            for (String proj : new String[] {"query", "key", "value", "output"}) {
                linear(s, c, p + "attention." + proj, h, h);
            }
            norm(s, c, p + "attention_norm");
            if (c.mlp().equals("swiglu")) {
                linear(s, c, p + "mlp.gate", c.intermediateSize(), h);
            }
            linear(s, c, p + "mlp.up", c.intermediateSize(), h);
            linear(s, c, p + "mlp.down", h, c.intermediateSize());
            norm(s, c, p + "mlp_norm");
        }
        if (c.preNorm()) {
            norm(s, c, "final_norm");
        }
        return s;
    }

    private static void linear(Map<String, Shape> s, ModelConfig c, String name, int out, int in) {
        s.put(name + ".weight", new Shape(out, in));
        if (c.bias()) {
            s.put(name + ".bias", new Shape(out));
        }
    }

    private static void norm(Map<String, Shape> s, ModelConfig c, String name) {
        s.put(name + ".weight", new Shape(c.hiddenSize()));
        if (c.norm().equals("layernorm")) {
            s.put(name + ".bias", new Shape(c.hiddenSize()));
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** The parameters by name (live arrays: training updates them in place). */
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    /**
     * Hidden states {@code (B, T, H)}.
     *
     * @param ids token ids {@code (B, T)}
     * @param attentionMask {@code (B, T)}, 1 real / 0 padding; null = all real
     * @param typeIds {@code (B, T)} segment ids; null = zeros
     * @param positionIds {@code (B, T)}; null = 0…T−1
     * @param dropout the dropout generator in training, null in inference (no dropout)
     */
    public NDArray forward(
            NDArray ids,
            NDArray attentionMask,
            NDArray typeIds,
            NDArray positionIds,
            SplittableRandom dropout) {
        return forwardEmbeddings(
                Functional.embedding(parameters.get("embeddings.word"), ids),
                ids.getShape(),
                attentionMask,
                typeIds,
                positionIds,
                dropout);
    }

    /** As {@link #forward} from input embeddings {@code (B, T, H)} instead of ids. */
    public NDArray forwardEmbeddings(
            NDArray embeddings,
            Shape idsShape,
            NDArray attentionMask,
            NDArray typeIds,
            NDArray positionIds,
            SplittableRandom dropout) {
        NDManager m = embeddings.getManager();
        int b = (int) idsShape.get(0);
        int t = (int) idsShape.get(1);
        NDArray x = dropout(embed(embeddings, t, typeIds, positionIds), dropout);
        DataType type = Functional.dataType(x);
        NDArray bias = attentionBias(m, attentionMask, b, 0, t, type);
        NDArray[] rope = null;
        if (config.positions().equals("rotary")) {
            rope =
                    rotary(
                            positionIds != null
                                    ? positionIds
                                    : m.arange(t).toType(DataType.INT64, false).expandDims(0),
                            type);
        }
        return layers(x, bias, rope, dropout, null);
    }

    /**
     * The keys and values a causal trunk has computed, one pair per layer, so that {@link
     * #forwardIncremental} computes only new positions. Keys are kept after the rotary rotation,
     * both as {@code (B, A, T_seen, D)}, with the attention mask of the positions seen {@code (B,
     * T_seen)}. Its arrays outlive any enclosing {@link NDScope} (each step's temporaries do not);
     * close the cache to free them.
     */
    public static final class KvCache implements AutoCloseable {
        private final NDArray[] keys;
        private final NDArray[] values;
        private NDArray seen;
        private int length;

        private KvCache(int layers) {
            keys = new NDArray[layers];
            values = new NDArray[layers];
        }

        /** How many positions the cache holds. */
        public int length() {
            return length;
        }

        /** {@code old} and {@code fresh} joined along {@code axis}; the old array is closed. */
        private static NDArray append(NDArray old, NDArray fresh, int axis) {
            NDArray joined = old == null ? fresh : old.concat(fresh, axis);
            NDScope.unregister(joined);
            if (old != null) {
                old.close();
            }
            return joined;
        }

        @Override
        public void close() {
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != null) {
                    keys[i].close();
                    values[i].close();
                }
            }
            if (seen != null) {
                seen.close();
            }
        }
    }

    /** An empty cache for {@link #forwardIncremental}. */
    public KvCache newCache() {
        return new KvCache(config.numLayers());
    }

    /**
     * Hidden states {@code (B, T, H)} of {@code T} new positions of a causal trunk, in inference
     * mode: they attend to the positions in {@code cache} and causally to each other, and their
     * keys and values are appended to it. Feeding a sequence in pieces gives the hidden states
     * {@link #forward} gives for the whole.
     *
     * @param ids token ids {@code (B, T)} of the new positions
     * @param attentionMask {@code (B, T)} of the new positions, 1 real / 0 padding; null = all real
     * @param positionIds {@code (B, T)}; null = {@code cache.length()} … {@code cache.length() + T
     *     − 1}
     * @param cache what earlier calls saw (from {@link #newCache}), updated in place
     * @throws IllegalStateException when the trunk is not causal
     */
    public NDArray forwardIncremental(
            NDArray ids, NDArray attentionMask, NDArray positionIds, KvCache cache) {
        if (!config.causal()) {
            throw new IllegalStateException(
                    "incremental decoding needs a causal trunk (config causal=true)");
        }
        NDManager m = ids.getManager();
        int b = (int) ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        int past = cache.length;
        if (positionIds == null) {
            positionIds = m.arange(past, past + t).toType(DataType.INT64, false).expandDims(0);
            positionIds = positionIds.repeat(0, b);
        }
        NDArray x =
                embed(
                        Functional.embedding(parameters.get("embeddings.word"), ids),
                        t,
                        null,
                        positionIds);
        NDArray real =
                attentionMask == null
                        ? m.ones(new Shape(b, t))
                        : attentionMask.toType(DataType.FLOAT32, true);
        cache.seen = KvCache.append(cache.seen, real, 1);
        DataType type = Functional.dataType(x);
        NDArray bias = attentionBias(m, cache.seen, b, past, t, type);
        NDArray[] rope = config.positions().equals("rotary") ? rotary(positionIds, type) : null;
        x = layers(x, bias, rope, null, cache);
        cache.length += t;
        return x;
    }

    /**
     * Word embeddings {@code (B, T, H)} plus learned positions and token types, normalized in a
     * post-LN model.
     */
    private NDArray embed(NDArray x, int t, NDArray typeIds, NDArray positionIds) {
        if (config.positions().equals("learned")) {
            NDArray table = parameters.get("embeddings.position");
            // Default positions 0…T−1 are the table's first T rows, broadcast over the batch.
            x =
                    x.add(
                            positionIds == null
                                    ? table.get(new NDIndex(":{}", t))
                                    : Functional.embedding(table, positionIds));
        }
        if (config.typeVocabSize() > 0) {
            NDArray table = parameters.get("embeddings.token_type");
            x = x.add(typeIds == null ? table.get(0) : Functional.embedding(table, typeIds));
        }
        return config.preNorm() ? x : norm(x, "embeddings.norm");
    }

    /** The layers and the final norm; {@code cache} null outside incremental decoding. */
    private NDArray layers(
            NDArray x, NDArray bias, NDArray[] rope, SplittableRandom dropout, KvCache cache) {
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "layers." + i + ".";
            if (config.preNorm()) {
                NDArray attended =
                        attention(norm(x, p + "attention_norm"), i, bias, rope, dropout, cache);
                x = x.add(dropout(attended, dropout));
                x = x.add(dropout(mlp(norm(x, p + "mlp_norm"), p), dropout));
            } else {
                NDArray attended = attention(x, i, bias, rope, dropout, cache);
                x = norm(x.add(dropout(attended, dropout)), p + "attention_norm");
                x = norm(x.add(dropout(mlp(x, p), dropout)), p + "mlp_norm");
            }
        }
        return config.preNorm() ? norm(x, "final_norm") : x;
    }

    /**
     * 0 where a query may look, the most negative finite value of {@code type} where it may not
     * (Hugging Face's {@code torch.finfo(dtype).min}: -inf would make a fully masked row's softmax
     * NaN, and {@code Float.MAX_VALUE} overflows to inf in bfloat16): {@code (B, 1, 1|T, S)} for
     * {@code T} queries at positions {@code past…past+T−1} and {@code S = past + T} keys; null when
     * every query may see every key. float32 whatever {@code type} (the scores' type): it is added
     * to the scores in place, which keeps their type.
     *
     * @param keyMask {@code (B, S)}, 1 real / 0 padding; null = all real
     */
    private NDArray attentionBias(
            NDManager m, NDArray keyMask, int b, int past, int t, DataType type) {
        int s = past + t;
        NDArray allowed = null;
        if (keyMask != null) {
            allowed = keyMask.toType(DataType.FLOAT32, false).reshape(b, 1, 1, s);
        }
        if (config.causal()) {
            // Query i (absolute past + i) may see key j when j ≤ past + i.
            NDArray visible =
                    m.arange(s)
                            .expandDims(0)
                            .lte(m.arange(past, s).expandDims(1))
                            .toType(DataType.FLOAT32, false)
                            .reshape(1, 1, t, s);
            allowed = allowed == null ? visible : allowed.mul(visible);
        }
        return allowed == null ? null : allowed.sub(1).mul(largestFinite(type));
    }

    /** The largest finite value of a floating-point type ({@code torch.finfo(type).max}). */
    static float largestFinite(DataType type) {
        return switch (type) {
            case FLOAT32, FLOAT64 -> Float.MAX_VALUE;
            case BFLOAT16 -> 3.3895314e38f; // (2 − 2⁻⁷)·2¹²⁷, exact in float32
            case FLOAT16 -> 65504f;
            default -> throw new IllegalArgumentException("not a floating-point type: " + type);
        };
    }

    /**
     * Multi-head attention of layer {@code i}. With a {@code cache}, the new keys and values are
     * appended to the layer's cached ones and the queries attend to all of them.
     */
    private NDArray attention(
            NDArray x,
            int i,
            NDArray bias,
            NDArray[] rope,
            SplittableRandom dropout,
            KvCache cache) {
        String p = "layers." + i + ".";
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int a = config.numHeads();
        int d = config.headSize();
        NDArray[] qkv = projectQkv(x, p, b, t, a, d);
        NDArray q = qkv[0];
        NDArray k = qkv[1];
        NDArray v = qkv[2];
        if (rope != null) {
            q = applyRotary(q, rope);
            k = applyRotary(k, rope);
        }
        if (cache != null) {
            cache.keys[i] = KvCache.append(cache.keys[i], k, 2);
            cache.values[i] = KvCache.append(cache.values[i], v, 2);
            k = cache.keys[i];
            v = cache.values[i];
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
        if (bias != null) {
            scores.addi(bias); // in place: the product's backward does not need its output
        }
        NDArray probs = dropout(Functional.softmax(scores, -1), dropout);
        NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) a * d);
        return linear(context, p + "attention.output");
    }

    /**
     * Queries, keys and values {@code (B, A, T, D)} from one GEMM over the three projections'
     * weights stacked: one larger matrix product instead of three, and in the backward pass one
     * gradient for x instead of three to sum. The queries come out already scaled by 1/√D (the
     * scale is folded into the query weights, H² multiplies instead of B·A·T² on the scores).
     */
    private NDArray[] projectQkv(NDArray x, String p, long b, long t, int a, int d) {
        float scale = (float) (1 / Math.sqrt(d));
        String n = p + "attention.";
        NDArray weight =
                NDArrays.concat(
                        new NDList(
                                parameters.get(n + "query.weight").mul(Functional.scalar(x, scale)),
                                parameters.get(n + "key.weight"),
                                parameters.get(n + "value.weight")));
        NDArray bias =
                config.bias()
                        ? NDArrays.concat(
                                new NDList(
                                        parameters
                                                .get(n + "query.bias")
                                                .mul(Functional.scalar(x, scale)),
                                        parameters.get(n + "key.bias"),
                                        parameters.get(n + "value.bias")))
                        : null;
        // Split (its backward is one concatenation), not index: selecting from a stacked array
        // would give each of q, k, v a zero-filled gradient of the whole stack.
        NDList qkv = Functional.linear(x, weight, bias).split(3, 2);
        return new NDArray[] {
            heads(qkv.get(0), b, t, a, d),
            heads(qkv.get(1), b, t, a, d),
            heads(qkv.get(2), b, t, a, d)
        };
    }

    private static NDArray heads(NDArray x, long b, long t, int a, int d) {
        return x.reshape(b, t, a, d).transpose(0, 2, 1, 3);
    }

    private NDArray mlp(NDArray x, String p) {
        if (config.mlp().equals("swiglu")) {
            NDArray gate = linear(x, p + "mlp.gate");
            NDArray silu = gate.mul(Functional.sigmoid(gate));
            return linear(silu.mul(linear(x, p + "mlp.up")), p + "mlp.down");
        }
        return linear(Functional.gelu(linear(x, p + "mlp.up")), p + "mlp.down");
    }

    private NDArray linear(NDArray x, String name) {
        return Functional.linear(
                x, parameters.get(name + ".weight"), parameters.get(name + ".bias"));
    }

    private NDArray norm(NDArray x, String name) {
        NDArray w = parameters.get(name + ".weight");
        if (config.norm().equals("rmsnorm")) {
            float eps = (float) config.normEps();
            // x · rsqrt(mean(x²) + eps): a multiply by a (B, T, 1) factor, cheaper than a divide
            // forward and backward. In float32 whatever x's type, then cast back before the weight
            // (as Hugging Face's LlamaRMSNorm).
            DataType type = Functional.dataType(x);
            NDArray h = Functional.cast(x, DataType.FLOAT32);
            NDArray inverseRms =
                    h.square().mean(new int[] {-1}, true).add(eps).pow(Functional.scalar(h, -0.5f));
            return Functional.cast(h.mul(inverseRms), type).mul(w);
        }
        return Functional.layerNorm(x, w, parameters.get(name + ".bias"), config.normEps());
    }

    /**
     * cos and signed sin tables {@code (B, 1, T, D)} in Hugging Face's rotate_half layout: the
     * second is {@code [−sin | sin]} over the two halves, the sign of rotate_half folded in.
     * Computed in float32, then cast to the activations' {@code type} (as Hugging Face does), so
     * they do not promote bfloat16 queries and keys to float32.
     */
    private NDArray[] rotary(NDArray positionIds, DataType type) {
        NDManager m = positionIds.getManager();
        int d = config.headSize();
        float[] inv = new float[d / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / d));
        }
        NDArray freqs =
                positionIds.toType(DataType.FLOAT32, false).expandDims(-1).mul(m.create(inv));
        NDArray cos = freqs.cos();
        NDArray sin = freqs.sin();
        return new NDArray[] {
            Functional.cast(NDArrays.concat(new NDList(cos, cos), -1).expandDims(1), type),
            Functional.cast(NDArrays.concat(new NDList(sin.neg(), sin), -1).expandDims(1), type)
        };
    }

    /**
     * {@code x·cos + rotate_half(x)·sin} with {@code rotate_half(x) = [−x₂ | x₁]}, computed as
     * {@code x·cos + [x₂ | x₁]·[−sin | sin]}: the halves by a split (whose backward is one
     * concatenation, where slicing would zero-fill a gradient of all of x per half).
     */
    private static NDArray applyRotary(NDArray x, NDArray[] rope) {
        NDList halves = x.split(2, 3);
        NDArray swapped = NDArrays.concat(new NDList(halves.get(1), halves.get(0)), 3);
        return x.mul(rope[0]).add(swapped.mul(rope[1]));
    }

    private NDArray dropout(NDArray x, SplittableRandom random) {
        if (random == null || config.dropout() == 0) {
            return x;
        }
        // The engine's generator, re-seeded from the caller's (seed, step) stream before each draw:
        // the same step always drops the same units.
        x.getManager().getEngine().setRandomSeed(random.nextInt());
        return Functional.dropout(x, config.dropout());
    }
}
