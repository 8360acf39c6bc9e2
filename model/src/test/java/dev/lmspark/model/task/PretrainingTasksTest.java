package dev.lmspark.model.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.train.PretrainingTask;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The config → task switch: one place, the same answer for initialising and rebuilding. */
class PretrainingTasksTest {
    private static final ModelConfig BERT = ModelConfig.preset("bert-tiny").withVocabSize(50);
    private static final ModelConfig CAUSAL = BERT.withCausal(true);
    private static final ModelConfig ROTARY =
            ModelConfig.preset("rotary-mlm-small").withVocabSize(64);

    @Test
    void eachConfigIsOneTaskWhateverTheWayItIsBuilt() {
        Map<ModelConfig, Class<?>> expected = new LinkedHashMap<>();
        expected.put(BERT, BertForPretraining.class);
        expected.put(CAUSAL, CausalLm.class);
        expected.put(ROTARY, MaskedLm.class);
        assertEquals(
                List.of(
                        PretrainingTasks.Kind.BERT_FOR_PRETRAINING,
                        PretrainingTasks.Kind.CAUSAL_LM,
                        PretrainingTasks.Kind.MASKED_LM),
                expected.keySet().stream().map(PretrainingTasks::kind).toList());
        try (NDManager m = NDManager.newBaseManager()) {
            for (var e : expected.entrySet()) {
                ModelConfig c = e.getKey();
                PretrainingTask t = PretrainingTasks.initialize(c, m, 7);
                assertInstanceOf(e.getValue(), t);
                // Names and shapes in the order the stored model lists them.
                Map<String, ai.djl.ndarray.types.Shape> shapes = new LinkedHashMap<>();
                t.parameters().forEach((n, a) -> shapes.put(n, a.getShape()));
                assertEquals(PretrainingTasks.shapes(c), shapes, c.architecture());
                assertEquals(ModelWeights.shapes(c), PretrainingTasks.shapes(c));
                // Rebuilt over the same arrays: the same class, sharing them.
                PretrainingTask again = t.withParameters(t.parameters());
                assertInstanceOf(e.getValue(), again);
                for (Map.Entry<String, NDArray> p : t.parameters().entrySet()) {
                    assertSame(p.getValue(), again.parameters().get(p.getKey()), p.getKey());
                }
                assertInstanceOf(e.getValue(), new ModelWeights(c, t.parameters()).task());
            }
        }
    }
}
