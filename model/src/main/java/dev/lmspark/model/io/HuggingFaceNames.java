package dev.lmspark.model.io;

import dev.lmspark.model.config.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * lmspark parameter names and the names {@code transformers} gives the same weights ({@code
 * modeling_bert.py}, {@code modeling_llama.py}). A rule maps a name prefix to a prefix (a whole
 * name when it has no trailing dot); names inside layer i are mapped after {@code layers.i.}.
 */
final class HuggingFaceNames {
    private static final Pattern LAYER = Pattern.compile("layers\\.(\\d+)\\.(.*)");

    private static final Map<String, String> BERT = new LinkedHashMap<>();
    private static final Map<String, String> BERT_LAYER = new LinkedHashMap<>();
    private static final Map<String, String> LLAMA = new LinkedHashMap<>();
    private static final Map<String, String> LLAMA_LAYER = new LinkedHashMap<>();

    static {
        BERT.put("embeddings.word", "bert.embeddings.word_embeddings.weight");
        BERT.put("embeddings.position", "bert.embeddings.position_embeddings.weight");
        BERT.put("embeddings.token_type", "bert.embeddings.token_type_embeddings.weight");
        BERT.put("embeddings.norm.", "bert.embeddings.LayerNorm.");
        BERT.put("mlm_head.dense.", "cls.predictions.transform.dense.");
        BERT.put("mlm_head.norm.", "cls.predictions.transform.LayerNorm.");
        BERT.put("mlm_head.decoder.bias", "cls.predictions.bias");
        BERT.put("pooler.dense.", "bert.pooler.dense.");
        BERT.put("nsp.", "cls.seq_relationship.");
        BERT_LAYER.put("attention.query.", "attention.self.query.");
        BERT_LAYER.put("attention.key.", "attention.self.key.");
        BERT_LAYER.put("attention.value.", "attention.self.value.");
        BERT_LAYER.put("attention.output.", "attention.output.dense.");
        BERT_LAYER.put("attention_norm.", "attention.output.LayerNorm.");
        BERT_LAYER.put("mlp.up.", "intermediate.dense.");
        BERT_LAYER.put("mlp.down.", "output.dense.");
        BERT_LAYER.put("mlp_norm.", "output.LayerNorm.");

        LLAMA.put("embeddings.word", "model.embed_tokens.weight");
        LLAMA.put("final_norm.", "model.norm.");
        LLAMA.put("lm_head.", "lm_head.");
        LLAMA_LAYER.put("attention.query.", "self_attn.q_proj.");
        LLAMA_LAYER.put("attention.key.", "self_attn.k_proj.");
        LLAMA_LAYER.put("attention.value.", "self_attn.v_proj.");
        LLAMA_LAYER.put("attention.output.", "self_attn.o_proj.");
        LLAMA_LAYER.put("attention_norm.", "input_layernorm.");
        LLAMA_LAYER.put("mlp.gate.", "mlp.gate_proj.");
        LLAMA_LAYER.put("mlp.up.", "mlp.up_proj.");
        LLAMA_LAYER.put("mlp.down.", "mlp.down_proj.");
        LLAMA_LAYER.put("mlp_norm.", "post_attention_layernorm.");
    }

    private HuggingFaceNames() {}

    /** The base model's prefix in task checkpoints: {@code bert.} or {@code model.}. */
    static String basePrefix(ModelConfig config) {
        return config.architecture().equals("llama") ? "model." : "bert.";
    }

    /** Every parameter of a model of {@code config}: lmspark name to Hugging Face name. */
    static Map<String, String> of(ModelConfig config) {
        boolean llama = config.architecture().equals("llama");
        Map<String, String> names = new LinkedHashMap<>();
        for (String name : ModelWeights.shapes(config).keySet()) {
            Matcher layer = LAYER.matcher(name);
            String hf;
            if (layer.matches()) {
                String inner = rename(layer.group(2), llama ? LLAMA_LAYER : BERT_LAYER);
                String prefix = llama ? "model.layers." : "bert.encoder.layer.";
                hf = inner == null ? null : prefix + layer.group(1) + "." + inner;
            } else {
                hf = rename(name, llama ? LLAMA : BERT);
            }
            if (hf == null) {
                throw new IllegalStateException("no Hugging Face name for " + name);
            }
            names.put(name, hf);
        }
        return names;
    }

    private static String rename(String name, Map<String, String> rules) {
        for (Map.Entry<String, String> rule : rules.entrySet()) {
            String from = rule.getKey();
            if (from.endsWith(".") ? name.startsWith(from) : name.equals(from)) {
                return rule.getValue() + name.substring(from.length());
            }
        }
        return null;
    }
}
