package dev.lmspark.model.generate;

import java.util.Arrays;

/**
 * One generated sequence (the XLM framework's MLM prediction record).
 *
 * @param ids every token of the row: the input (with its left padding, for batched MLM rows) and
 *     what was generated
 * @param outputStart the index in {@code ids} of the first generated position
 * @param text the row's real tokens decoded (special tokens kept or skipped as the generator was
 *     told)
 * @param outputText the generated part decoded the same way (for infilling: the middle)
 * @param timeTakenMs wall time of the call that produced it; rows generated together share their
 *     batch's time, since it cannot be split between them
 */
public record Generated(
        int[] ids, int outputStart, String text, String outputText, long timeTakenMs) {

    /** The generated tokens, {@code ids[outputStart …]}. */
    public int[] outputIds() {
        return Arrays.copyOfRange(ids, outputStart, ids.length);
    }
}
