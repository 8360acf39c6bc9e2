package dev.lmspark.data.collate;

import java.util.ArrayList;
import java.util.List;

/**
 * MLM without next-sentence prediction: whole sentences of one document packed greedily into
 * windows of {@code capacity} tokens (the window less {@code [CLS]} and {@code [SEP]}), like
 * RoBERTa's DOC-SENTENCES. A sentence longer than a window is cut into window-sized pieces.
 */
public final class SentencePacking {
    private SentencePacking() {}

    /** Packed chunks, and how many sentences had to be cut. */
    public record Packed(List<Segment> chunks, int cutSentences) {}

    public static Packed pack(List<Segment> sentences, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("window capacity " + capacity + " must be positive");
        }
        List<Segment> chunks = new ArrayList<>();
        List<Segment> current = new ArrayList<>();
        int length = 0;
        int cut = 0;
        for (Segment s : sentences) {
            if (s.length() == 0) {
                continue;
            }
            if (length + s.length() > capacity && length > 0) {
                chunks.add(Segment.concat(current));
                current = new ArrayList<>();
                length = 0;
            }
            if (s.length() > capacity) {
                cut++;
                int from = 0;
                while (s.length() - from > capacity) {
                    chunks.add(s.slice(from, from + capacity));
                    from += capacity;
                }
                s = s.slice(from, s.length());
            }
            current.add(s);
            length += s.length();
        }
        if (length > 0) {
            chunks.add(Segment.concat(current));
        }
        return new Packed(chunks, cut);
    }
}
