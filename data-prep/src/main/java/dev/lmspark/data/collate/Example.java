package dev.lmspark.data.collate;

import java.io.Serializable;

/**
 * One model-ready example, every array {@code max_length} long (the columns of a shard, {@code
 * docs/dataset-format.md}).
 *
 * @param inputIds token ids after masking or FIM, padded
 * @param attentionMask 1 for real tokens, 0 for padding
 * @param tokenTypeIds 1 on segment B of a next-sentence pair, else 0
 * @param labels the id to predict, or -100
 * @param specialTokensMask 1 at special tokens (of the original, unmasked sequence) and padding
 * @param wordStart MLM: 1 at the first sub-token of each word; null otherwise
 * @param nextSentenceLabel NSP: 0 = B follows A, 1 = random B; null otherwise
 * @param targetIds seq2seq prediction rows: the reference target, right-padded; null otherwise
 * @param docId the (first) source document
 */
public record Example(
        int[] inputIds,
        byte[] attentionMask,
        byte[] tokenTypeIds,
        int[] labels,
        byte[] specialTokensMask,
        byte[] wordStart,
        Integer nextSentenceLabel,
        int[] targetIds,
        long docId)
        implements Serializable {

    /** Real (non-padding) tokens. */
    public int realTokens() {
        int n = 0;
        for (byte b : attentionMask) {
            n += b;
        }
        return n;
    }
}
