package dev.lmspark.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.lmspark.data.collate.FillInTheMiddle;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.task.CausalLm;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Causal sampling on tiny random-weight Llama and BERT causal models with a real byte-level BPE:
 * the KV cache changes no token, seeds, stopping, the length limit, memory, and FIM infilling in
 * data-prep's exact prompt layout.
 */
class CausalSamplerTest {
    static final String PROMPT = "def total(items):\n    return sum(";
    static LmTokenizer tok;
    static NDManager manager;
    static CausalLm llama;
    static CausalLm bert;

    @BeforeAll
    static void setUp() {
        tok = Tokenizers.bpe();
        manager = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
        int v = tok.vocabSize();
        llama = CausalLm.initialize(ModelConfig.preset("llama-tiny").withVocabSize(v), manager, 3);
        bert =
                CausalLm.initialize(
                        ModelConfig.preset("bert-tiny").withVocabSize(v).withCausal(true),
                        manager,
                        4);
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static CausalSampler.Builder builder(CausalLm model) {
        return CausalSampler.builder().setModel(model).setTokenizer(tok);
    }

    @Test
    void greedyWithTheCacheEqualsGreedyWithout() {
        for (CausalLm model : new CausalLm[] {llama, bert}) {
            CausalSampler.Builder b =
                    builder(model)
                            .optSampler(TokenSampler.GREEDY)
                            .optMaxNewTokens(10)
                            .optStopAtEos(false);
            Generated cached = b.optKvCache(true).build().generate(PROMPT);
            Generated full = b.optKvCache(false).build().generate(PROMPT);
            String arch = model.trunk().config().architecture();
            assertArrayEquals(full.ids(), cached.ids(), arch);
            int[] prompt = tok.encode(PROMPT).ids();
            assertEquals(prompt.length, cached.outputStart());
            assertEquals(prompt.length + 10, cached.ids().length);
            assertArrayEquals(prompt, Arrays.copyOf(cached.ids(), prompt.length));
            assertEquals(tok.decode(cached.outputIds(), true), cached.outputText());
        }
    }

    @Test
    void theSameSeedGivesTheSameSampleAndOthersDiffer() {
        CausalSampler.Builder b =
                builder(llama)
                        .optSampler(new TokenSampler(1.0, 50, 0.95))
                        .optMaxNewTokens(8)
                        .optStopAtEos(false);
        Generated one = b.optSeed(1).build().generate(PROMPT);
        Generated again = b.optSeed(1).build().generate(PROMPT);
        Generated other = b.optSeed(2).build().generate(PROMPT);
        assertArrayEquals(one.ids(), again.ids());
        assertFalse(Arrays.equals(one.ids(), other.ids()));
        // Each step draws from (seed, row, step): without the cache the draws are the same.
        assertArrayEquals(one.ids(), b.optSeed(1).optKvCache(false).build().generate(PROMPT).ids());
    }

    @Test
    void generationStopsAtEosAndInfillingAlsoAtFimPad() {
        SpecialTokenIds s = tok.specials();
        CausalLm model =
                CausalLm.initialize(
                        ModelConfig.preset("bert-tiny")
                                .withVocabSize(tok.vocabSize())
                                .withCausal(true),
                        manager,
                        5);
        // A decoder bias no hidden state can outweigh: the model always says EOS.
        model.parameters().get("mlm_head.decoder.bias").set(new NDIndex(s.eos()), 1000f);
        CausalSampler sampler = builder(model).optMaxNewTokens(5).build();
        Generated g = sampler.generate(PROMPT);
        assertArrayEquals(new int[] {s.eos()}, g.outputIds(), "the stop token is kept in ids");
        assertEquals("", g.outputText());
        Generated middle = sampler.infill("x = ", "\n");
        assertArrayEquals(new int[] {s.eos()}, middle.outputIds());
        assertEquals("", middle.outputText());

        model.parameters().get("mlm_head.decoder.bias").set(new NDIndex(s.eos()), 0f);
        model.parameters().get("mlm_head.decoder.bias").set(new NDIndex(s.fimPad()), 1000f);
        assertEquals(5, sampler.generate(PROMPT).outputIds().length, "<fim_pad> is no EOS");
        assertArrayEquals(new int[] {s.fimPad()}, sampler.infill("x = ", "\n").outputIds());
        Generated fromNothing = sampler.generate(new int[0], 0);
        assertEquals(s.eos(), fromNothing.ids()[0], "an empty prompt starts after EOS");
        assertEquals(1, fromNothing.outputStart());
    }

    @Test
    void theFimPromptIsFillInTheMiddlesTrainingLayoutUpToTheMiddle() {
        SpecialTokenIds s = tok.specials();
        assertEquals(2, s.fimPrefix()); // lmspark's byte-level BPE ids (docs/dataset-format.md)
        assertEquals(3, s.fimMiddle());
        assertEquals(4, s.fimSuffix());
        FillInTheMiddle fim =
                new FillInTheMiddle(1, 0, s.fimPrefix(), s.fimMiddle(), s.fimSuffix(), s.fimPad());
        CausalSampler sampler = builder(llama).optMaxNewTokens(3).build();
        for (long doc = 0; doc < 5; doc++) {
            String text = Tokenizers.document(SampleCorpus.Kind.CODE, doc);
            FillInTheMiddle.Cut cut = fim.cut(text, Seeds.random(17, doc));
            assertFalse(cut.spm());
            int[] training = fim.arrange(cut, t -> tok.encode(t).ids());
            int middle = tok.encode(cut.middle()).ids().length;
            int[] prompt = sampler.fimPrompt(cut.prefix(), cut.suffix());
            assertArrayEquals(Arrays.copyOf(training, training.length - middle), prompt);
            assertEquals(s.fimMiddle(), prompt[prompt.length - 1]);
        }
        Generated g = sampler.infill("def f(x):\n    return ", "\n");
        assertArrayEquals(
                sampler.fimPrompt("def f(x):\n    return ", "\n"),
                Arrays.copyOf(g.ids(), g.outputStart()));
        assertTrue(g.outputIds().length <= 3);
    }

    @Test
    void generationStopsAtTheModelsLengthLimit() {
        CausalLm short_ =
                CausalLm.initialize(
                        ModelConfig.preset("bert-tiny")
                                .withVocabSize(tok.vocabSize())
                                .withCausal(true)
                                .withMaxPositions(16),
                        manager,
                        6);
        CausalSampler sampler = builder(short_).optMaxNewTokens(30).optStopAtEos(false).build();
        int[] prompt = tok.encode(PROMPT).ids();
        assertTrue(prompt.length < 16);
        assertEquals(16, sampler.generate(prompt, 0).ids().length);
        int[] tooLong = new int[16];
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> sampler.generate(tooLong, 0))
                        .getMessage()
                        .contains("a prompt of 16 tokens"));
    }

    @Test
    void memoryStaysFlat() {
        int before = manager.getManagedArrays().size();
        builder(llama).optMaxNewTokens(6).build().generate(PROMPT);
        builder(bert).optMaxNewTokens(6).optKvCache(false).build().infill("a", "b");
        assertEquals(before, manager.getManagedArrays().size());
    }

    @Test
    void badOptionsAreNamed() {
        assertTrue(
                assertThrows(
                                IllegalArgumentException.class,
                                () -> builder(llama).optMaxNewTokens(0).build())
                        .getMessage()
                        .contains("max new tokens 0"));
        assertThrows(
                IllegalArgumentException.class,
                () -> CausalSampler.builder().setModel(llama).build());
        CausalSampler noFim =
                CausalSampler.builder().setModel(bert).setTokenizer(Tokenizers.wordPiece()).build();
        assertTrue(
                assertThrows(IllegalStateException.class, () -> noFim.infill("a", "b"))
                        .getMessage()
                        .contains("FIM sentinels"));
    }
}
