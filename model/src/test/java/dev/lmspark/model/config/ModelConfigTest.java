package dev.lmspark.model.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ModelConfigTest {

    @Test
    void presetsHaveTheirPublishedShapes() {
        ModelConfig mini = ModelConfig.preset("bert-mini");
        assertEquals(4, mini.numLayers());
        assertEquals(256, mini.hiddenSize());
        assertEquals(4, mini.numHeads());
        assertEquals(1024, mini.intermediateSize());
        assertEquals(1e-12, mini.normEps());
        assertTrue(!mini.preNorm() && !mini.causal() && mini.tieWordEmbeddings());
        assertEquals("learned", mini.positions());
        assertEquals(2, mini.typeVocabSize());
        ModelConfig tiny = ModelConfig.preset("bert-tiny");
        assertEquals(2, tiny.numLayers());
        assertEquals(128, tiny.hiddenSize());
        assertEquals(2, tiny.numHeads());
        ModelConfig small = ModelConfig.preset("bert-small");
        assertEquals(8, small.numHeads());
        assertEquals(768, ModelConfig.preset("bert-base").hiddenSize());
        ModelConfig llama = ModelConfig.preset("llama-small");
        assertTrue(
                llama.causal() && llama.preNorm() && !llama.bias() && !llama.tieWordEmbeddings());
        assertEquals("rmsnorm", llama.norm());
        assertEquals("swiglu", llama.mlp());
        assertEquals("rotary", llama.positions());
        ModelConfig rotary = ModelConfig.preset("rotary-mlm-small");
        assertTrue(rotary.preNorm() && !rotary.causal() && !rotary.tieWordEmbeddings());
        assertEquals(10, ModelConfig.presetNames().size());
    }

    @Test
    void roundTripsThroughJson() {
        for (String name : ModelConfig.presetNames()) {
            ModelConfig c = ModelConfig.preset(name).withVocabSize(8192);
            String json = c.toJson();
            assertTrue(json.contains("\"vocab_size\" : 8192"), json);
            assertEquals(c, ModelConfig.fromJson(json));
        }
    }

    @Test
    void invalidValuesNameTheField() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.preset("bert-huge"));
        assertTrue(e.getMessage().contains("'bert-huge'") && e.getMessage().contains("bert-mini"));
        String json =
                ModelConfig.preset("bert-tiny")
                        .toJson()
                        .replace("\"num_heads\" : 2", "\"num_heads\" : 3");
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.fromJson(json));
        assertTrue(e.getMessage().contains("num_heads"), e.getMessage());
    }
}
