package dev.lmspark.model.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.task.CausalLm;
import org.junit.jupiter.api.Test;

/**
 * Incremental decoding through {@link Transformer.KvCache} gives the full forward pass's logits at
 * every position, for rotary (Llama) and learned-position (BERT) causal models, with left padding.
 */
class KvCacheTest {
    static final int V = 61;

    @Test
    void llamaIncrementalLogitsEqualTheFullForward() {
        check(ModelConfig.preset("llama-tiny").withVocabSize(V));
    }

    @Test
    void bertCausalIncrementalLogitsEqualTheFullForward() {
        check(ModelConfig.preset("bert-tiny").withVocabSize(V).withCausal(true));
    }

    @Test
    void aBidirectionalTrunkHasNoIncrementalPath() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Transformer t =
                    Transformer.initialize(ModelConfig.preset("bert-tiny").withVocabSize(V), m, 1);
            try (Transformer.KvCache cache = t.newCache()) {
                assertThrows(
                        IllegalStateException.class,
                        () ->
                                t.forwardIncremental(
                                        m.create(new long[] {1}, new Shape(1, 1)),
                                        null,
                                        null,
                                        cache));
            }
        }
    }

    private static void check(ModelConfig c) {
        int t = 11;
        int pad = 3; // row 1 is left-padded by this many positions
        long[] ids = new long[2 * t];
        long[] mask = new long[2 * t];
        long[] positions = new long[2 * t];
        for (int i = 0; i < t; i++) {
            ids[i] = (7 * i + 3) % V;
            ids[t + i] = (5 * i + 1) % V;
            mask[i] = 1;
            mask[t + i] = i < pad ? 0 : 1;
            positions[i] = i;
            positions[t + i] = Math.max(0, i - pad);
        }
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            CausalLm model = CausalLm.initialize(c, m, 5);
            NDArray idArray = m.create(ids, new Shape(2, t));
            NDArray maskArray = m.create(mask, new Shape(2, t));
            NDArray posArray = m.create(positions, new Shape(2, t));
            float[] full = model.forward(idArray, maskArray, posArray).toFloatArray();
            float[] incremental = new float[full.length];
            // Pieces of 4, 1, 3, 1, 2 positions.
            int[] cuts = {0, 4, 5, 8, 9, 11};
            try (Transformer.KvCache cache = model.trunk().newCache()) {
                for (int k = 0; k + 1 < cuts.length; k++) {
                    NDIndex piece = new NDIndex(":, {}:{}", cuts[k], cuts[k + 1]);
                    float[] logits =
                            model.forwardIncremental(
                                            idArray.get(piece),
                                            maskArray.get(piece),
                                            posArray.get(piece),
                                            cache)
                                    .toFloatArray();
                    int n = cuts[k + 1] - cuts[k];
                    for (int r = 0; r < 2; r++) {
                        System.arraycopy(
                                logits, r * n * V, incremental, (r * t + cuts[k]) * V, n * V);
                    }
                }
                assertEquals(t, cache.length());
            }
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < t; i++) {
                    if (mask[r * t + i] == 0) {
                        continue; // a padded query's output is never used
                    }
                    for (int v = 0; v < V; v++) {
                        int at = (r * t + i) * V + v;
                        assertEquals(
                                full[at],
                                incremental[at],
                                1e-5,
                                "row " + r + " position " + i + " token " + v);
                    }
                }
            }
            // Default position ids continue from the cache's length.
            try (Transformer.KvCache cache = model.trunk().newCache()) {
                NDArray row = idArray.get("0:1, :");
                float[] whole = model.forward(row, null, null).toFloatArray();
                model.forwardIncremental(row.get(":, :6"), null, null, cache);
                float[] rest =
                        model.forwardIncremental(row.get(":, 6:"), null, null, cache)
                                .toFloatArray();
                for (int j = 0; j < rest.length; j++) {
                    assertEquals(whole[6 * V + j], rest[j], 1e-5);
                }
            }
        }
    }
}
