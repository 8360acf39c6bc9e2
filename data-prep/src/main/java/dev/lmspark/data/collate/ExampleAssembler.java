package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.Arrays;
import java.util.BitSet;
import java.util.SplittableRandom;

/**
 * Builds padded {@link Example}s for each objective: {@code [CLS] A [SEP] (B [SEP])} with masking
 * for MLM, labels from the attention mask for CLM ({@code <fim_pad>} excluded), and the seq2seq
 * rows.
 */
public final class ExampleAssembler implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int maxLength;
    private final boolean leftPadding;
    private final int padId;
    private final BitSet specialIds;
    private final Integer cls;
    private final Integer sep;
    private final Integer fimPad;

    /**
     * @param maxLength every array's length
     * @param leftPadding pad on the left (for generation); right otherwise
     * @param padId id written at padded positions
     * @param specialIds ids marked in {@code special_tokens_mask}
     * @param cls {@code [CLS]} (MLM), or null
     * @param sep {@code [SEP]} (MLM), or null
     * @param fimPad {@code <fim_pad>} (no label), or null
     */
    public ExampleAssembler(
            int maxLength,
            boolean leftPadding,
            int padId,
            BitSet specialIds,
            Integer cls,
            Integer sep,
            Integer fimPad) {
        this.maxLength = maxLength;
        this.leftPadding = leftPadding;
        this.padId = padId;
        this.specialIds = specialIds;
        this.cls = cls;
        this.sep = sep;
        this.fimPad = fimPad;
    }

    public int maxLength() {
        return maxLength;
    }

    /** An MLM sequence {@code [CLS] A [SEP] (B [SEP])} before masking, and its segment ids. */
    public record MlmSequence(Segment tokens, byte[] typeIds) {}

    public MlmSequence mlmSequence(Segment a, Segment b) {
        Segment tokens =
                b == null
                        ? Segment.concat(Segment.specials(cls), a, Segment.specials(sep))
                        : Segment.concat(
                                Segment.specials(cls),
                                a,
                                Segment.specials(sep),
                                b,
                                Segment.specials(sep));
        byte[] types = new byte[tokens.length()];
        if (b != null) {
            Arrays.fill(types, a.length() + 2, types.length, (byte) 1);
        }
        return new MlmSequence(tokens, types);
    }

    /** Masks an MLM sequence and pads it. */
    public Example mlm(
            MlmSequence sequence,
            Masker masker,
            Integer nspLabel,
            long docId,
            SplittableRandom random,
            MaskStats stats) {
        int[] ids = sequence.tokens().ids();
        boolean[] special = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) {
            special[i] = specialIds.get(ids[i]);
        }
        Masker.Result masked = masker.mask(ids, special, sequence.tokens().wordStart(), random);
        if (stats != null) {
            stats.add(masked, ids.length - count(special));
        }
        byte[] wordStart = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wordStart[i] = (byte) (sequence.tokens().wordStart()[i] ? 1 : 0);
        }
        return pad(
                masked.inputIds(),
                sequence.typeIds(),
                masked.labels(),
                ids,
                wordStart,
                nspLabel,
                null,
                docId);
    }

    /** A causal-LM window: labels are the inputs, except {@code <fim_pad>}. */
    public Example causal(int[] ids, long docId) {
        int[] labels = ids.clone();
        if (fimPad != null) {
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] == fimPad) {
                    labels[i] = Masker.IGNORE;
                }
            }
        }
        return pad(ids, new byte[ids.length], labels, ids, null, null, null, docId);
    }

    /** A seq2seq row: the given inputs and labels (masking done by the caller). */
    public Example seq2seq(
            int[] ids,
            int[] labels,
            int[] originalIds,
            byte[] typeIds,
            int[] targetIds,
            long docId) {
        return pad(ids, typeIds, labels, originalIds, null, null, targetIds, docId);
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) {
            n += x ? 1 : 0;
        }
        return n;
    }

    /**
     * Pads any sequence: {@code ids} as the model sees them, {@code original} before masking (for
     * {@code special_tokens_mask}); the optional columns may be null.
     */
    public Example pad(
            int[] ids,
            byte[] types,
            int[] labels,
            int[] original,
            byte[] wordStart,
            Integer nspLabel,
            int[] targetIds,
            long docId) {
        int n = ids.length;
        if (n > maxLength) {
            throw new IllegalStateException(
                    "sequence of " + n + " tokens exceeds --max-length " + maxLength);
        }
        int offset = leftPadding ? maxLength - n : 0;
        int[] outIds = new int[maxLength];
        byte[] mask = new byte[maxLength];
        byte[] outTypes = new byte[maxLength];
        int[] outLabels = new int[maxLength];
        byte[] specialMask = new byte[maxLength];
        byte[] outWordStart = wordStart == null ? null : new byte[maxLength];
        Arrays.fill(outIds, padId);
        Arrays.fill(outLabels, Masker.IGNORE);
        Arrays.fill(specialMask, (byte) 1);
        for (int i = 0; i < n; i++) {
            outIds[offset + i] = ids[i];
            mask[offset + i] = 1;
            outTypes[offset + i] = types[i];
            outLabels[offset + i] = labels[i];
            specialMask[offset + i] = (byte) (specialIds.get(original[i]) ? 1 : 0);
            if (outWordStart != null) {
                outWordStart[offset + i] = wordStart[i];
            }
        }
        int[] outTargets = null;
        if (targetIds != null) {
            outTargets = new int[maxLength];
            Arrays.fill(outTargets, padId);
            System.arraycopy(targetIds, 0, outTargets, 0, Math.min(maxLength, targetIds.length));
        }
        return new Example(
                outIds,
                mask,
                outTypes,
                outLabels,
                specialMask,
                outWordStart,
                nspLabel,
                outTargets,
                docId);
    }
}
