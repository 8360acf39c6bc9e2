package dev.lmspark.data.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face {@code BertPreTokenizer} after a {@link BertNormalizer}: splits on whitespace
 * (dropped) and isolates every punctuation character (ASCII punctuation, or Unicode categories Pc,
 * Pd, Ps, Pe, Pi, Pf, Po) as a word of its own.
 */
public final class BertPreTokenizer implements PreTokenizer {
    private static final long serialVersionUID = 1L;

    private final BertNormalizer normalizer;

    public BertPreTokenizer(BertNormalizer normalizer) {
        this.normalizer = normalizer;
    }

    /** The normalizer applied before splitting. */
    public BertNormalizer normalizer() {
        return normalizer;
    }

    @Override
    public List<String> words(String text) {
        return split(normalizer.normalize(text));
    }

    /** Splits already-normalized text. */
    public static List<String> split(String normalized) {
        List<String> words = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int i = 0;
        while (i < normalized.length()) {
            int cp = normalized.codePointAt(i);
            i += Character.charCount(cp);
            if (BertNormalizer.isWhitespace(cp)) {
                flush(current, words);
            } else if (isPunctuation(cp)) {
                flush(current, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                current.appendCodePoint(cp);
            }
        }
        flush(current, words);
        return words;
    }

    private static void flush(StringBuilder current, List<String> words) {
        if (current.length() > 0) {
            words.add(current.toString());
            current.setLength(0);
        }
    }

    static boolean isPunctuation(int cp) {
        if (cp < 0x80) {
            return (cp >= 33 && cp <= 47)
                    || (cp >= 58 && cp <= 64)
                    || (cp >= 91 && cp <= 96)
                    || (cp >= 123 && cp <= 126);
        }
        int type = Character.getType(cp);
        return type == Character.CONNECTOR_PUNCTUATION
                || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION
                || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION
                || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }
}
