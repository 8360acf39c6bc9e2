package dev.lmspark.data.collate;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Splits a document into sentences for next-sentence pairs: every line break ends a sentence (as in
 * Google BERT's one-sentence-per-line input), and inside a line a sentence ends at {@code .},
 * {@code !} or {@code ?} (with any closing quote or bracket) followed by space and an upper-case
 * letter, digit or opening quote.
 */
public final class SentenceSplitter {
    private static final Pattern LINES = Pattern.compile("\\R+");
    private static final Pattern BOUNDARY =
            Pattern.compile("(?<=[.!?][\"'”’)\\]]?)\\s+(?=[\"'“‘(\\[]?[\\p{Lu}\\p{N}])");

    private SentenceSplitter() {}

    /** The non-blank sentences of {@code text}, stripped. */
    public static List<String> split(String text) {
        List<String> out = new ArrayList<>();
        for (String line : LINES.split(text)) {
            for (String s : BOUNDARY.split(line)) {
                String t = s.strip();
                if (!t.isEmpty()) {
                    out.add(t);
                }
            }
        }
        return out;
    }
}
