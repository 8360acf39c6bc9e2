package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.nn.Initialization;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.train.PretrainingTask;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the three task models share (as Hugging Face's {@code *PreTrainedModel} classes share a
 * base): a {@link Transformer} trunk and named head parameters, checked against the task's head
 * shapes when built, listed trunk first and rebuilt from a parameter map through {@link
 * PretrainingTasks}. A subclass adds its heads' forward passes and losses.
 */
abstract class TrunkModel implements PretrainingTask {
    /** The shared trunk. */
    final Transformer trunk;

    /** The head parameters by name (live arrays). */
    final Map<String, NDArray> head;

    /**
     * @throws IllegalArgumentException when a parameter of {@code headShapes} is missing
     */
    TrunkModel(Transformer trunk, Map<String, NDArray> head, Map<String, Shape> headShapes) {
        this.trunk = trunk;
        this.head = head;
        for (String name : headShapes.keySet()) {
            if (!head.containsKey(name)) {
                throw new IllegalArgumentException("missing parameter " + name);
            }
        }
    }

    /**
     * Fresh head weights (normal(0, initializer_range) matrices, unit norm weights, zero biases)
     * from {@code seed}.
     */
    static Map<String, NDArray> initializeHead(
            Map<String, Shape> headShapes, ModelConfig config, NDManager manager, long seed) {
        return Initialization.initialize(headShapes, config.initializerRange(), manager, seed);
    }

    /** The trunk. */
    public Transformer trunk() {
        return trunk;
    }

    @Override
    public ModelConfig config() {
        return trunk.config();
    }

    /** Every parameter, trunk then head (live arrays). */
    @Override
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> all = new LinkedHashMap<>(trunk.parameters());
        all.putAll(head);
        return all;
    }

    @Override
    public PretrainingTask withParameters(Map<String, NDArray> parameters) {
        return PretrainingTasks.on(trunk.config(), parameters);
    }

    /** The untied output embeddings {@code lm_head.weight}, else the word embeddings (tied). */
    NDArray outputEmbeddings() {
        NDArray own = head.get("lm_head.weight");
        return own != null ? own : trunk.parameters().get("embeddings.word");
    }
}
