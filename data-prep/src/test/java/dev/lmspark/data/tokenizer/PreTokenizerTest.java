package dev.lmspark.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class PreTokenizerTest {

    @Test
    void bertNormalizerCleansIsolatesStripsAndLowercases() {
        BertNormalizer uncased = new BertNormalizer(true);
        assertEquals("cafe zoe", uncased.normalize("Café Zoë"));
        assertEquals("a b", uncased.normalize("a\u00A0b"));
        assertEquals("ab", uncased.normalize("a\u0000\uFFFD\u200Bb"));
        assertEquals("a\tb".replace('\t', ' '), uncased.normalize("a\tb"));
        assertEquals("x 中  文 y", uncased.normalize("x中文y"));
        assertEquals("σσ", uncased.normalize("ΣΣ"));
        BertNormalizer cased = new BertNormalizer(false);
        assertEquals("Café Zoë", cased.normalize("Café Zoë"));
    }

    @Test
    void bertPreTokenizerSplitsWhitespaceAndIsolatesPunctuation() {
        PreTokenizer p = PreTokenizer.of(TokenizerType.WORDPIECE, true);
        assertEquals(
                List.of("hello", ",", "world", "'", "s", "$", "5", ".", "00", "!", "«", "ok", "»"),
                p.words("Hello, world's $5.00! «ok»"));
        assertEquals(List.of(), p.words("  \n\t "));
    }

    @Test
    void byteLevelSplitsLikeGpt2AndMapsBytes() {
        PreTokenizer p = PreTokenizer.of(TokenizerType.BPE, false);
        assertEquals(List.of("Hello", "Ġworld", "'s", "Ġ42", "!"), p.words("Hello world's 42!"));
        // Two spaces before a word: the last one joins the word, the rest stay alone.
        assertEquals(List.of("a", "Ġ", "Ġb"), p.words("a  b"));
        assertEquals(
                List.of("def", "Ġf", "():", "ĊĠĠĠ", "Ġreturn"), p.words("def f():\n    return"));
        // é is two UTF-8 bytes, each its own character.
        assertEquals(List.of("cafÃ©"), p.words("café"));
        assertEquals(256, ByteLevelPreTokenizer.alphabet().stream().distinct().count());
    }
}
