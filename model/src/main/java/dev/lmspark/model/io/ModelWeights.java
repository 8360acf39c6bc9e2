package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.MaskedLm;
import dev.lmspark.model.task.PretrainingTasks;
import dev.lmspark.model.train.PretrainingTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole model as it is stored: its config and every parameter by lmspark name (trunk and heads),
 * checked to be exactly the names and shapes the config implies. The task follows from the config
 * ({@link PretrainingTasks}): a causal config is a {@link CausalLm}, a {@code rotary-mlm} one a
 * {@link MaskedLm}, any other a {@link BertForPretraining}.
 *
 * @param config the model's shape and flavour
 * @param parameters every parameter by lmspark name, in {@link #shapes} order
 */
public record ModelWeights(ModelConfig config, Map<String, NDArray> parameters) {

    /**
     * Checks the parameters against the config.
     *
     * @throws IllegalArgumentException naming a missing or unexpected parameter, or one whose shape
     *     the config does not give it
     */
    public ModelWeights {
        Map<String, Shape> expected = shapes(config);
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            NDArray a = parameters.get(e.getKey());
            if (a == null) {
                missing.add(e.getKey());
            } else if (!a.getShape().equals(e.getValue())) {
                throw new IllegalArgumentException(
                        "parameter "
                                + e.getKey()
                                + " has shape "
                                + a.getShape()
                                + ", the model config needs "
                                + e.getValue());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(
                    "the model config needs parameters that are missing: " + listed(missing));
        }
        List<String> unexpected = new ArrayList<>(parameters.keySet());
        unexpected.removeAll(expected.keySet());
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException(
                    "parameters the model config does not have: " + listed(unexpected));
        }
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            ordered.put(name, parameters.get(name));
        }
        parameters = ordered;
    }

    /** Up to five names, then how many more. */
    static String listed(List<String> names) {
        return names.size() <= 5
                ? String.join(", ", names)
                : String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more";
    }

    /**
     * Every parameter's lmspark name and shape for {@code config}: trunk, then heads ({@link
     * PretrainingTasks#shapes}).
     */
    public static Map<String, Shape> shapes(ModelConfig config) {
        return PretrainingTasks.shapes(config);
    }

    /** A BERT pretraining model's weights (the same arrays, not copies). */
    public static ModelWeights of(BertForPretraining model) {
        return new ModelWeights(model.trunk().config(), model.parameters());
    }

    /** A rotary masked LM's weights (the same arrays, not copies). */
    public static ModelWeights of(MaskedLm model) {
        return new ModelWeights(model.trunk().config(), model.parameters());
    }

    private static boolean isMaskedLm(ModelConfig config) {
        return PretrainingTasks.kind(config) == PretrainingTasks.Kind.MASKED_LM;
    }

    /** A causal LM's weights (the same arrays, not copies). */
    public static ModelWeights of(CausalLm model) {
        return new ModelWeights(model.trunk().config(), model.parameters());
    }

    /**
     * The model these weights are, on these arrays: a {@link CausalLm} for a causal config, a
     * {@link MaskedLm} for {@code rotary-mlm}, else a {@link BertForPretraining}.
     */
    public PretrainingTask task() {
        return PretrainingTasks.on(config, parameters);
    }

    /**
     * The BERT pretraining model on these arrays.
     *
     * @throws IllegalStateException when the config is causal
     */
    public BertForPretraining toBertForPretraining() {
        if (config.causal()) {
            throw new IllegalStateException(
                    "these are a causal LM's weights (config causal=true); use toCausalLm()");
        }
        if (isMaskedLm(config)) {
            throw new IllegalStateException(
                    "these are a rotary masked LM's weights (architecture rotary-mlm); use"
                            + " toMaskedLm()");
        }
        return (BertForPretraining) task();
    }

    /**
     * The causal LM on these arrays.
     *
     * @throws IllegalStateException when the config is not causal
     */
    public CausalLm toCausalLm() {
        if (!config.causal()) {
            throw new IllegalStateException(
                    "these are a masked LM's weights (config causal=false); use"
                            + " toBertForPretraining()");
        }
        return (CausalLm) task();
    }

    /**
     * The rotary masked LM on these arrays.
     *
     * @throws IllegalStateException when the config is not a bidirectional {@code rotary-mlm}
     */
    public MaskedLm toMaskedLm() {
        if (!isMaskedLm(config)) {
            throw new IllegalStateException(
                    "these are not a rotary masked LM's weights (architecture "
                            + config.architecture()
                            + ", causal="
                            + config.causal()
                            + "); use "
                            + (config.causal() ? "toCausalLm()" : "toBertForPretraining()"));
        }
        return (MaskedLm) task();
    }
}
