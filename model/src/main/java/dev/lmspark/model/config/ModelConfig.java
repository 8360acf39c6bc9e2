package dev.lmspark.model.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A transformer's shape and flavour, JSON-serialisable ({@code config.json} of an lmspark
 * checkpoint, snake_case keys). Architecture details pinned to Hugging Face: exact (erf) GELU,
 * LayerNorm eps 1e-12 (BERT), RMSNorm eps 1e-5 (Llama), RoPE in the {@code rotate_half} layout with
 * theta 10000, initialisation normal(0, 0.02).
 *
 * @param architecture {@code bert}, {@code rotary-mlm} or {@code llama}
 * @param vocabSize V
 * @param hiddenSize H (model width)
 * @param numLayers L
 * @param numHeads attention heads; H must be a multiple
 * @param intermediateSize MLP width
 * @param maxPositions longest sequence (learned positions; RoPE tables)
 * @param positions {@code learned} or {@code rotary}
 * @param typeVocabSize token-type embeddings (0 for none)
 * @param causal causal (decoder) attention, else bidirectional
 * @param preNorm pre-LN (normalize before each sub-layer), else post-LN
 * @param norm {@code layernorm} or {@code rmsnorm}
 * @param normEps normalization epsilon
 * @param mlp {@code gelu} (two matrices, erf GELU) or {@code swiglu} (three, SiLU gate)
 * @param bias biases on the linear layers
 * @param dropout hidden and attention dropout
 * @param ropeTheta RoPE base
 * @param tieWordEmbeddings output head shares the input embeddings
 * @param initializerRange standard deviation of the normal initialisation
 */
public record ModelConfig(
        String architecture,
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int intermediateSize,
        int maxPositions,
        String positions,
        int typeVocabSize,
        boolean causal,
        boolean preNorm,
        String norm,
        double normEps,
        String mlp,
        boolean bias,
        double dropout,
        double ropeTheta,
        boolean tieWordEmbeddings,
        double initializerRange)
        implements Serializable {

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .enable(SerializationFeature.INDENT_OUTPUT);

    /** Validates every field, naming it. */
    public ModelConfig {
        require(
                List.of("bert", "rotary-mlm", "llama").contains(architecture),
                "architecture",
                architecture);
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(numLayers > 0, "num_layers", numLayers);
        require(
                numHeads > 0 && hiddenSize % numHeads == 0,
                "num_heads (must divide hidden_size)",
                numHeads);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(maxPositions > 0, "max_positions", maxPositions);
        require(positions.equals("learned") || positions.equals("rotary"), "positions", positions);
        require(
                !positions.equals("rotary") || (hiddenSize / numHeads) % 2 == 0,
                "head size (even for rotary)",
                hiddenSize / numHeads);
        require(typeVocabSize >= 0, "type_vocab_size", typeVocabSize);
        require(norm.equals("layernorm") || norm.equals("rmsnorm"), "norm", norm);
        require(normEps > 0, "norm_eps", normEps);
        require(mlp.equals("gelu") || mlp.equals("swiglu"), "mlp", mlp);
        require(dropout >= 0 && dropout < 1, "dropout", dropout);
        require(ropeTheta > 0, "rope_theta", ropeTheta);
        require(initializerRange > 0, "initializer_range", initializerRange);
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(
                    "model config: " + field + " = " + value + " is invalid");
        }
    }

    /** Size of one attention head. */
    public int headSize() {
        return hiddenSize / numHeads;
    }

    /** A copy with another vocabulary size (a preset meets its tokenizer). */
    public ModelConfig withVocabSize(int v) {
        return new ModelConfig(
                architecture,
                v,
                hiddenSize,
                numLayers,
                numHeads,
                intermediateSize,
                maxPositions,
                positions,
                typeVocabSize,
                causal,
                preNorm,
                norm,
                normEps,
                mlp,
                bias,
                dropout,
                ropeTheta,
                tieWordEmbeddings,
                initializerRange);
    }

    /** A copy with another maximum sequence length. */
    public ModelConfig withMaxPositions(int n) {
        return new ModelConfig(
                architecture,
                vocabSize,
                hiddenSize,
                numLayers,
                numHeads,
                intermediateSize,
                n,
                positions,
                typeVocabSize,
                causal,
                preNorm,
                norm,
                normEps,
                mlp,
                bias,
                dropout,
                ropeTheta,
                tieWordEmbeddings,
                initializerRange);
    }

    /**
     * A copy with causal (or bidirectional) attention: a causal LM on a BERT trunk (Hugging Face
     * {@code BertLMHeadModel}).
     */
    public ModelConfig withCausal(boolean c) {
        return new ModelConfig(
                architecture,
                vocabSize,
                hiddenSize,
                numLayers,
                numHeads,
                intermediateSize,
                maxPositions,
                positions,
                typeVocabSize,
                c,
                preNorm,
                norm,
                normEps,
                mlp,
                bias,
                dropout,
                ropeTheta,
                tieWordEmbeddings,
                initializerRange);
    }

    /** The config as JSON. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a config.
     *
     * @throws IllegalArgumentException when the JSON is malformed or a field is invalid
     */
    public static ModelConfig fromJson(String json) {
        try {
            return JSON.readValue(json, ModelConfig.class);
        } catch (IOException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException invalid) {
                    throw invalid;
                }
            }
            String why =
                    e.getMessage() == null
                            ? e.toString()
                            : e.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("model config: " + why, e);
        }
    }

    private static ModelConfig bert(int layers, int hidden, int heads) {
        return new ModelConfig(
                "bert",
                30522,
                hidden,
                layers,
                heads,
                4 * hidden,
                512,
                "learned",
                2,
                false,
                false,
                "layernorm",
                1e-12,
                "gelu",
                true,
                0.1,
                10000,
                true,
                0.02);
    }

    private static ModelConfig rotaryMlm(int layers, int hidden, int heads) {
        return new ModelConfig(
                "rotary-mlm",
                30522,
                hidden,
                layers,
                heads,
                4 * hidden,
                1024,
                "rotary",
                0,
                false,
                true,
                "layernorm",
                1e-5,
                "gelu",
                true,
                0.1,
                10000,
                false, // untied output head, as xlm's RotaryTransformerMLMModel
                0.02);
    }

    private static ModelConfig llama(int layers, int hidden, int heads, int intermediate) {
        return new ModelConfig(
                "llama",
                32000,
                hidden,
                layers,
                heads,
                intermediate,
                2048,
                "rotary",
                0,
                true,
                true,
                "rmsnorm",
                1e-5,
                "swiglu",
                false,
                0.0,
                10000,
                false,
                0.02);
    }

    private static final Map<String, ModelConfig> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("bert-tiny", bert(2, 128, 2));
        PRESETS.put("bert-mini", bert(4, 256, 4));
        PRESETS.put("bert-small", bert(4, 512, 8));
        PRESETS.put("bert-medium", bert(8, 512, 8));
        PRESETS.put("bert-base", bert(12, 768, 12));
        PRESETS.put("rotary-mlm-small", rotaryMlm(4, 512, 8));
        PRESETS.put("rotary-mlm-base", rotaryMlm(12, 768, 12));
        PRESETS.put("llama-tiny", llama(2, 128, 4, 352));
        PRESETS.put("llama-small", llama(4, 512, 8, 1376));
        PRESETS.put("llama-base", llama(12, 768, 12, 2048));
    }

    /** The preset names. */
    public static List<String> presetNames() {
        return List.copyOf(PRESETS.keySet());
    }

    /**
     * A named preset.
     *
     * @throws IllegalArgumentException naming the preset and listing the known ones
     */
    public static ModelConfig preset(String name) {
        ModelConfig c = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (c == null) {
            throw new IllegalArgumentException(
                    "unknown model preset '"
                            + name
                            + "'; use one of "
                            + String.join(", ", PRESETS.keySet())
                            + ", or a config JSON file");
        }
        return c;
    }
}
