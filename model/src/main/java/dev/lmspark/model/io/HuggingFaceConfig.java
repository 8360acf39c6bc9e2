package dev.lmspark.model.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.config.ModelConfig;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Hugging Face {@code config.json} and the {@link ModelConfig} it stands for.
 *
 * <p>Architectures: a BERT-architecture config is {@code BertForPreTraining} (bidirectional) or
 * {@code BertLMHeadModel} ({@code is_decoder}, causal); a Llama-architecture config is {@code
 * LlamaForCausalLM}. Reading also accepts {@code BertForMaskedLM} and {@code BertModel} (their
 * missing heads are the caller's to initialise). The written keys are those {@code save_pretrained}
 * writes for these classes, sorted and indented as Python's {@code json.dumps(…, indent=2,
 * sort_keys=True)} writes them, so an exported file reads like one from {@code transformers}.
 * Absent keys read as the {@code BertConfig} / {@code LlamaConfig} defaults.
 *
 * <p>What a Hugging Face config cannot say is refused both ways with the field named: rotary or
 * pre-LN BERT, the tanh GELU, untied BERT decoders, grouped-query attention, RoPE scaling, biases
 * in Llama. BERT's single {@code dropout} is written as both its hidden and attention dropout;
 * Llama's as {@code attention_dropout}.
 */
public final class HuggingFaceConfig {
    public static final String BERT_FOR_PRETRAINING = "BertForPreTraining";
    public static final String BERT_FOR_MASKED_LM = "BertForMaskedLM";
    public static final String BERT_MODEL = "BertModel";
    public static final String BERT_LM_HEAD_MODEL = "BertLMHeadModel";
    public static final String LLAMA_FOR_CAUSAL_LM = "LlamaForCausalLM";

    /** The architectures {@link #parse} accepts. */
    public static final List<String> SUPPORTED =
            List.of(
                    BERT_FOR_PRETRAINING,
                    BERT_FOR_MASKED_LM,
                    BERT_MODEL,
                    BERT_LM_HEAD_MODEL,
                    LLAMA_FOR_CAUSAL_LM);

    private static final ObjectMapper JSON = new ObjectMapper();

    private HuggingFaceConfig() {}

    /**
     * The tokenizer's special token ids a Hugging Face config records; null where unknown (written
     * as JSON null for Llama, whose config would otherwise default to ids 1 and 2).
     */
    public record SpecialTokenIds(Integer pad, Integer bos, Integer eos) {
        public static final SpecialTokenIds NONE = new SpecialTokenIds(null, null, null);
    }

    /** A config read from a {@code config.json}. */
    public record Parsed(
            ModelConfig config,
            String architecture,
            SpecialTokenIds tokens,
            List<String> warnings) {}

    /**
     * The Hugging Face class a model of {@code config} exports as.
     *
     * @throws IllegalArgumentException when there is none (e.g. {@code rotary-mlm})
     */
    public static String architecture(ModelConfig config) {
        return switch (config.architecture()) {
            case "bert" -> config.causal() ? BERT_LM_HEAD_MODEL : BERT_FOR_PRETRAINING;
            case "llama" -> {
                if (!config.causal()) {
                    throw new IllegalArgumentException(
                            "a llama model exports as LlamaForCausalLM, which is causal; this"
                                    + " config has causal=false");
                }
                yield LLAMA_FOR_CAUSAL_LM;
            }
            default ->
                    throw new IllegalArgumentException(
                            "architecture "
                                    + config.architecture()
                                    + " has no Hugging Face equivalent; export supports bert"
                                    + " (BertForPreTraining, BertLMHeadModel) and llama"
                                    + " (LlamaForCausalLM)");
        };
    }

    /**
     * The {@code config.json} text for {@code config}.
     *
     * @throws IllegalArgumentException naming the first field a Hugging Face config of the
     *     architecture cannot express
     */
    public static String toJson(ModelConfig config, SpecialTokenIds tokens) {
        String architecture = architecture(config);
        Map<String, Object> c = new TreeMap<>();
        c.put("architectures", List.of(architecture));
        c.put("hidden_size", config.hiddenSize());
        c.put("initializer_range", config.initializerRange());
        c.put("intermediate_size", config.intermediateSize());
        c.put("max_position_embeddings", config.maxPositions());
        c.put("num_attention_heads", config.numHeads());
        c.put("num_hidden_layers", config.numLayers());
        c.put("torch_dtype", "float32");
        c.put("use_cache", true);
        c.put("vocab_size", config.vocabSize());
        if (config.architecture().equals("bert")) {
            c.put("model_type", "bert");
            c.put("attention_probs_dropout_prob", config.dropout());
            c.put("classifier_dropout", null);
            c.put("hidden_act", "gelu");
            c.put("hidden_dropout_prob", config.dropout());
            c.put("layer_norm_eps", config.normEps());
            c.put("pad_token_id", tokens.pad());
            c.put("position_embedding_type", "absolute");
            c.put("type_vocab_size", config.typeVocabSize());
            if (config.causal()) {
                c.put("is_decoder", true);
            }
            if (tokens.bos() != null) {
                c.put("bos_token_id", tokens.bos());
            }
            if (tokens.eos() != null) {
                c.put("eos_token_id", tokens.eos());
            }
        } else {
            c.put("model_type", "llama");
            c.put("attention_bias", false);
            c.put("attention_dropout", config.dropout());
            c.put("bos_token_id", tokens.bos());
            c.put("eos_token_id", tokens.eos());
            c.put("head_dim", config.headSize());
            c.put("hidden_act", "silu");
            c.put("mlp_bias", false);
            c.put("num_key_value_heads", config.numHeads());
            if (tokens.pad() != null) {
                c.put("pad_token_id", tokens.pad());
            }
            c.put("pretraining_tp", 1);
            c.put("rms_norm_eps", config.normEps());
            c.put("rope_scaling", null);
            c.put("rope_theta", config.ropeTheta());
            c.put("tie_word_embeddings", config.tieWordEmbeddings());
        }
        StringBuilder out = new StringBuilder();
        writePython(c, 0, out);
        String json = out.append('\n').toString();
        requireExpressible(config, parse(json).config(), architecture);
        return json;
    }

    /** Refuses a config that does not come back from its Hugging Face form, naming the field. */
    private static void requireExpressible(
            ModelConfig ours, ModelConfig back, String architecture) {
        JsonNode a = read(ours.toJson());
        JsonNode b = read(back.toJson());
        for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            // BERT has no rotary positions: its rope_theta means nothing.
            if (field.equals("rope_theta") && ours.architecture().equals("bert")) {
                continue;
            }
            if (!a.get(field).equals(b.get(field))) {
                throw new IllegalArgumentException(
                        "model config "
                                + field
                                + " = "
                                + a.get(field)
                                + " cannot be expressed as a Hugging Face "
                                + architecture
                                + " (which has "
                                + field
                                + " = "
                                + b.get(field)
                                + ")");
            }
        }
    }

    /**
     * Reads a Hugging Face {@code config.json}.
     *
     * @throws IllegalArgumentException when the text is not a JSON object, the architecture is not
     *     one of {@link #SUPPORTED}, or a setting has no lmspark equivalent (naming it)
     */
    public static Parsed parse(String json) {
        JsonNode c = read(json);
        List<String> warnings = new ArrayList<>();
        String modelType = c.path("model_type").asText("");
        String architecture;
        JsonNode architectures = c.path("architectures");
        if (architectures.isArray() && architectures.size() > 0) {
            architecture = architectures.get(0).asText();
            if (architectures.size() > 1) {
                warnings.add("config lists several architectures; reading it as " + architecture);
            }
        } else if (modelType.equals("bert")) {
            architecture =
                    c.path("is_decoder").asBoolean(false)
                            ? BERT_LM_HEAD_MODEL
                            : BERT_FOR_PRETRAINING;
        } else if (modelType.equals("llama")) {
            architecture = LLAMA_FOR_CAUSAL_LM;
        } else {
            throw new IllegalArgumentException(
                    "config has no architectures and model_type '"
                            + modelType
                            + "'; lmspark imports "
                            + String.join(", ", SUPPORTED));
        }
        if (!SUPPORTED.contains(architecture)) {
            throw new IllegalArgumentException(
                    "architecture "
                            + architecture
                            + " is not supported; lmspark imports "
                            + String.join(", ", SUPPORTED));
        }
        return architecture.equals(LLAMA_FOR_CAUSAL_LM)
                ? llama(c, warnings)
                : bert(c, architecture, warnings);
    }

    private static Parsed bert(JsonNode c, String architecture, List<String> warnings) {
        requireValue(c, "model_type", "bert", architecture);
        requireValue(c, "hidden_act", "gelu", architecture);
        requireValue(c, "position_embedding_type", "absolute", architecture);
        requireValue(c, "tie_word_embeddings", true, architecture);
        requireValue(c, "add_cross_attention", false, architecture);
        boolean causal = architecture.equals(BERT_LM_HEAD_MODEL);
        if (c.path("is_decoder").asBoolean(false) != causal) {
            warnings.add(
                    "config.json has is_decoder "
                            + c.path("is_decoder").asBoolean(false)
                            + "; lmspark reads "
                            + architecture
                            + (causal ? " as a causal decoder" : " as a bidirectional encoder"));
        }
        double dropout = number(c, "hidden_dropout_prob", 0.1);
        double attentionDropout = number(c, "attention_probs_dropout_prob", 0.1);
        if (dropout != attentionDropout) {
            warnings.add(
                    "attention_probs_dropout_prob "
                            + attentionDropout
                            + " differs from hidden_dropout_prob "
                            + dropout
                            + "; lmspark uses "
                            + dropout
                            + " for both");
        }
        int types = integer(c, "type_vocab_size", 2);
        if (types < 1) {
            throw new IllegalArgumentException(
                    "type_vocab_size "
                            + types
                            + " is not supported: Hugging Face BERT always adds token type"
                            + " embeddings; use 1 or more");
        }
        ModelConfig config =
                new ModelConfig(
                        "bert",
                        integer(c, "vocab_size", 30522),
                        integer(c, "hidden_size", 768),
                        integer(c, "num_hidden_layers", 12),
                        integer(c, "num_attention_heads", 12),
                        integer(c, "intermediate_size", 3072),
                        integer(c, "max_position_embeddings", 512),
                        "learned",
                        types,
                        causal,
                        false,
                        "layernorm",
                        number(c, "layer_norm_eps", 1e-12),
                        "gelu",
                        true,
                        dropout,
                        10000,
                        true,
                        number(c, "initializer_range", 0.02));
        SpecialTokenIds tokens =
                new SpecialTokenIds(
                        tokenId(c, "pad_token_id", 0, warnings),
                        tokenId(c, "bos_token_id", null, warnings),
                        tokenId(c, "eos_token_id", null, warnings));
        return new Parsed(config, architecture, tokens, warnings);
    }

    private static Parsed llama(JsonNode c, List<String> warnings) {
        String architecture = LLAMA_FOR_CAUSAL_LM;
        requireValue(c, "model_type", "llama", architecture);
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw new IllegalArgumentException(
                    "config hidden_act '"
                            + act
                            + "' is not supported; Llama in lmspark is SwiGLU (silu)");
        }
        requireValue(c, "attention_bias", false, architecture);
        requireValue(c, "mlp_bias", false, architecture);
        if (c.hasNonNull("rope_scaling")) {
            throw new IllegalArgumentException(
                    "config rope_scaling "
                            + c.get("rope_scaling")
                            + " is not supported; lmspark's RoPE is unscaled (rope_scaling null)");
        }
        int hidden = integer(c, "hidden_size", 4096);
        int heads = integer(c, "num_attention_heads", 32);
        int kvHeads = integer(c, "num_key_value_heads", heads);
        if (kvHeads != heads) {
            throw new IllegalArgumentException(
                    "config num_key_value_heads "
                            + kvHeads
                            + " differs from num_attention_heads "
                            + heads
                            + "; lmspark has no grouped-query attention");
        }
        if (c.hasNonNull("head_dim") && heads > 0 && c.get("head_dim").asInt() * heads != hidden) {
            throw new IllegalArgumentException(
                    "config head_dim "
                            + c.get("head_dim")
                            + " is not hidden_size / num_attention_heads = "
                            + hidden / heads
                            + ", which lmspark requires");
        }
        ModelConfig config =
                new ModelConfig(
                        "llama",
                        integer(c, "vocab_size", 32000),
                        hidden,
                        integer(c, "num_hidden_layers", 32),
                        heads,
                        integer(c, "intermediate_size", 11008),
                        integer(c, "max_position_embeddings", 2048),
                        "rotary",
                        0,
                        true,
                        true,
                        "rmsnorm",
                        number(c, "rms_norm_eps", 1e-6),
                        "swiglu",
                        false,
                        number(c, "attention_dropout", 0.0),
                        number(c, "rope_theta", 10000.0),
                        c.path("tie_word_embeddings").asBoolean(false),
                        number(c, "initializer_range", 0.02));
        SpecialTokenIds tokens =
                new SpecialTokenIds(
                        tokenId(c, "pad_token_id", null, warnings),
                        tokenId(c, "bos_token_id", 1, warnings),
                        tokenId(c, "eos_token_id", 2, warnings));
        return new Parsed(config, architecture, tokens, warnings);
    }

    private static JsonNode read(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException("config is not a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "config is not JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }

    /** An absent key passes (the class default is what lmspark supports). */
    private static void requireValue(JsonNode c, String key, Object value, String architecture) {
        JsonNode v = c.get(key);
        if (v == null) {
            return;
        }
        boolean same =
                value instanceof Boolean b
                        ? v.isBoolean() && v.asBoolean() == b
                        : v.asText().equals(value);
        if (!same) {
            throw new IllegalArgumentException(
                    "config "
                            + key
                            + " "
                            + v
                            + " is not supported for "
                            + architecture
                            + "; lmspark needs "
                            + key
                            + " "
                            + (value instanceof String ? "\"" + value + "\"" : value));
        }
    }

    private static int integer(JsonNode c, String key, int fallback) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("config " + key + " " + v + " is not an integer");
        }
        return v.asInt();
    }

    private static double number(JsonNode c, String key, double fallback) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException("config " + key + " " + v + " is not a number");
        }
        return v.asDouble();
    }

    private static Integer tokenId(
            JsonNode c, String key, Integer fallback, List<String> warnings) {
        JsonNode v = c.get(key);
        if (v == null) {
            return fallback;
        }
        if (v.isArray() && v.size() > 0) {
            warnings.add(
                    "config " + key + " " + v + " lists several ids; lmspark keeps " + v.get(0));
            v = v.get(0);
        }
        return v.isIntegralNumber() ? v.asInt() : null;
    }

    /** Python's {@code json.dumps(value, indent=2, sort_keys=True)} for the values used here. */
    private static void writePython(Object value, int depth, StringBuilder out) {
        String indent = "  ".repeat(depth + 1);
        if (value instanceof Map<?, ?> map) {
            out.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(indent).append(quoted((String) e.getKey())).append(": ");
                writePython(e.getValue(), depth + 1, out);
                out.append(++i < map.size() ? ",\n" : "\n");
            }
            out.append("  ".repeat(depth)).append('}');
        } else if (value instanceof List<?> list) {
            out.append("[\n");
            for (int i = 0; i < list.size(); i++) {
                out.append(indent);
                writePython(list.get(i), depth + 1, out);
                out.append(i + 1 < list.size() ? ",\n" : "\n");
            }
            out.append("  ".repeat(depth)).append(']');
        } else if (value instanceof String s) {
            out.append(quoted(s));
        } else if (value instanceof Double d) {
            out.append(pythonFloat(d));
        } else if (value instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (value == null) {
            out.append("null");
        } else {
            out.append(value);
        }
    }

    private static String quoted(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Python's {@code repr(float)}: shortest digits; exponent form below 1e-4 and from 1e16. */
    static String pythonFloat(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return (long) d + ".0";
        }
        BigDecimal b = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = b.precision() - b.scale() - 1;
        if (exponent >= -4 && exponent < 16) {
            return b.toPlainString();
        }
        String digits = b.unscaledValue().abs().toString();
        String mantissa =
                digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "")
                + mantissa
                + "e"
                + (exponent < 0 ? "-" : "+")
                + String.format("%02d", Math.abs(exponent));
    }
}
