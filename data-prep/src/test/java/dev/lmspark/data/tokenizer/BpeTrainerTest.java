package dev.lmspark.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BpeTrainerTest {

    @Test
    void mergesTheMostFrequentPairsInOrder() {
        // The Hugging Face course's example: u+g (20), then u+n (16), then h+ug (15).
        Map<String, Long> counts = Map.of("hug", 10L, "pug", 5L, "pun", 12L, "bun", 4L, "hugs", 5L);
        BpeTrainer.Result result = BpeTrainer.builder().setVocabSize(10).build().train(counts);
        assertEquals(List.of("b", "g", "h", "n", "p", "s", "u", "ug", "un", "hug"), result.vocab());
        assertEquals(3, result.merges().size());
        assertArrayEquals(new String[] {"u", "g"}, result.merges().get(0));
        assertArrayEquals(new String[] {"u", "n"}, result.merges().get(1));
        assertArrayEquals(new String[] {"h", "ug"}, result.merges().get(2));
        assertEquals(7, result.alphabetSize());
    }

    @Test
    void continuationPrefixAndTiesBrokenBySmallerIds() {
        // Alphabet g h s u (0-3), then ##g ##s ##u (4-6). All three pairs of "hugs" tie at 3:
        // (h, ##u) = (1, 6) wins; then (##g, ##s) = (4, 5) beats (hu, ##g) = (7, 4).
        BpeTrainer.Result result =
                BpeTrainer.builder()
                        .setVocabSize(10)
                        .optContinuingSubwordPrefix("##")
                        .build()
                        .train(Map.of("hugs", 3L));
        assertEquals(
                List.of("g", "h", "s", "u", "##g", "##s", "##u", "hu", "##gs", "hugs"),
                result.vocab());
    }

    @Test
    void specialTokensComeFirstAndMinFrequencyStopsMerging() {
        BpeTrainer.Result result =
                BpeTrainer.builder()
                        .setVocabSize(100)
                        .optSpecialTokens(List.of("<s>", "<pad>"))
                        .optMinFrequency(11)
                        .build()
                        .train(Map.of("hug", 10L, "pug", 5L, "pun", 12L, "bun", 4L, "hugs", 5L));
        assertEquals("<s>", result.vocab().get(0));
        assertEquals("<pad>", result.vocab().get(1));
        // u+g (20), u+n (16), h+ug (15), p+un (12) reach 11; nothing else does.
        assertEquals(4, result.merges().size());
        assertEquals("pun", result.vocab().get(result.vocab().size() - 1));
    }

    @Test
    void overlappingPairsAreCountedAfterEachMerge() {
        BpeTrainer.Result result =
                BpeTrainer.builder().setVocabSize(4).build().train(Map.of("aaaa", 1L, "aaa", 1L));
        // a+a (5) first; then "aaaa" = [aa, aa] and "aaa" = [aa, a] tie at 1, and (aa, a) = (1, 0)
        // has the smaller ids; then (aa, aa).
        assertEquals(List.of("a", "aa", "aaa", "aaaa"), result.vocab());
        assertArrayEquals(new String[] {"a", "a"}, result.merges().get(0));
        assertArrayEquals(new String[] {"aa", "a"}, result.merges().get(1));
        assertArrayEquals(new String[] {"aa", "aa"}, result.merges().get(2));
    }

    @Test
    void initialAlphabetIsAlwaysKept() {
        BpeTrainer.Result result =
                BpeTrainer.builder()
                        .setVocabSize(300)
                        .optInitialAlphabet(ByteLevelPreTokenizer.alphabet())
                        .build()
                        .train(Map.of("ab", 2L));
        assertEquals(257, result.vocab().size());
        assertTrue(result.vocab().contains("Ġ"));
    }

    @Test
    void tooSmallVocabularyAndEmptyCorpusAreRefused() {
        var tooSmall = BpeTrainer.builder().setVocabSize(3).build();
        var e =
                assertThrows(
                        IllegalArgumentException.class, () -> tooSmall.train(Map.of("abcd", 1L)));
        assertTrue(e.getMessage().contains("--vocab-size 3"), e.getMessage());
        assertTrue(e.getMessage().contains("use at least 4"), e.getMessage());
        var empty = BpeTrainer.builder().setVocabSize(30).build();
        assertThrows(IllegalArgumentException.class, () -> empty.train(Map.of()));
    }
}
