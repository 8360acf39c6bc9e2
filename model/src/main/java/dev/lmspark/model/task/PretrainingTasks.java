package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.train.PretrainingTask;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place a model config chooses its pretraining task: a causal config is a {@link CausalLm},
 * a bidirectional {@code rotary-mlm} one a {@link MaskedLm}, any other a {@link BertForPretraining}
 * (as Hugging Face's {@code AutoModelForPreTraining} maps a config to its class). Initialising,
 * listing the parameters and building the model over given arrays all go through it.
 */
public final class PretrainingTasks {
    private PretrainingTasks() {}

    /** The three pretraining tasks. */
    public enum Kind {
        /** BERT: masked-LM head plus the next-sentence head. */
        BERT_FOR_PRETRAINING,
        /** A rotary masked LM (masked-LM head only). */
        MASKED_LM,
        /** A causal LM (next-token head). */
        CAUSAL_LM
    }

    /** The task {@code config} is. */
    public static Kind kind(ModelConfig config) {
        if (config.causal()) {
            return Kind.CAUSAL_LM;
        }
        return config.architecture().equals("rotary-mlm")
                ? Kind.MASKED_LM
                : Kind.BERT_FOR_PRETRAINING;
    }

    /** The heads' parameter names and shapes for {@code config}. */
    public static Map<String, Shape> headShapes(ModelConfig config) {
        return switch (kind(config)) {
            case CAUSAL_LM -> CausalLm.headShapes(config);
            case MASKED_LM -> MaskedLm.headShapes(config);
            case BERT_FOR_PRETRAINING -> BertForPretraining.headShapes(config);
        };
    }

    /** Every parameter's lmspark name and shape for {@code config}: trunk, then heads. */
    public static Map<String, Shape> shapes(ModelConfig config) {
        Map<String, Shape> s = new LinkedHashMap<>(Transformer.parameterShapes(config));
        s.putAll(headShapes(config));
        return s;
    }

    /** A new model for {@code config}, its parameters drawn from {@code seed}. */
    public static PretrainingTask initialize(ModelConfig config, NDManager manager, long seed) {
        return switch (kind(config)) {
            case CAUSAL_LM -> CausalLm.initialize(config, manager, seed);
            case MASKED_LM -> MaskedLm.initialize(config, manager, seed);
            case BERT_FOR_PRETRAINING -> BertForPretraining.initialize(config, manager, seed);
        };
    }

    /**
     * The model {@code config} is, over {@code parameters} (the arrays themselves, not copies;
     * names and shapes as {@link #shapes} gives them).
     */
    public static PretrainingTask on(ModelConfig config, Map<String, NDArray> parameters) {
        Map<String, NDArray> trunk = new LinkedHashMap<>();
        Map<String, NDArray> heads = new LinkedHashMap<>();
        var trunkNames = Transformer.parameterShapes(config).keySet();
        parameters.forEach((n, a) -> (trunkNames.contains(n) ? trunk : heads).put(n, a));
        Transformer t = new Transformer(config, trunk);
        return switch (kind(config)) {
            case CAUSAL_LM -> new CausalLm(t, heads);
            case MASKED_LM -> new MaskedLm(t, heads);
            case BERT_FOR_PRETRAINING -> new BertForPretraining(t, heads);
        };
    }
}
