package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The rows of the XLM framework's seq2seq MLM collators ({@code MLMSeq2SeqTrainCollator} and its
 * prediction counterpart) for masked-diffusion training. Training and validation rows are {@code
 * [CLS] prefix [SEP] target [SEP]} (right-padded) with each target token masked with a probability
 * t drawn per row from U(0, 1) — always to {@code [MASK]}, at least one — and labels only there.
 * Prediction rows hold {@code [CLS] prefix [SEP]} left-padded, so every prefix ends at the same
 * position, with the reference {@code target [SEP]} in {@code target_ids}. Over-long rows lose the
 * start of the prefix first (down to half of the room for prefix and target), then the end of the
 * target.
 */
public final class Seq2SeqRows implements Serializable {
    private static final long serialVersionUID = 1L;

    private final ExampleAssembler train;
    private final ExampleAssembler predict;
    private final int cls;
    private final int sep;
    private final int mask;

    public Seq2SeqRows(
            ExampleAssembler rightPadded, ExampleAssembler leftPadded, int cls, int sep, int mask) {
        if (rightPadded.maxLength() < 4) {
            throw new IllegalArgumentException(
                    "--max-length "
                            + rightPadded.maxLength()
                            + " is too short for [CLS] prefix [SEP] target [SEP]; use at least 4");
        }
        this.train = rightPadded;
        this.predict = leftPadded;
        this.cls = cls;
        this.sep = sep;
        this.mask = mask;
    }

    /** A row and whether it was truncated. */
    public record Row(Example example, boolean truncated) {}

    public Row train(int[] prefix, int[] target, long docId, SplittableRandom random) {
        int capacity = train.maxLength() - 3;
        boolean truncated = prefix.length + target.length > capacity;
        if (truncated) {
            int keepPrefix =
                    Math.min(prefix.length, Math.max(capacity - target.length, capacity / 2));
            prefix = Arrays.copyOfRange(prefix, prefix.length - keepPrefix, prefix.length);
            target = Arrays.copyOf(target, Math.min(target.length, capacity - prefix.length));
        }
        int n = prefix.length + target.length + 3;
        int[] original = new int[n];
        original[0] = cls;
        System.arraycopy(prefix, 0, original, 1, prefix.length);
        original[prefix.length + 1] = sep;
        int start = prefix.length + 2;
        System.arraycopy(target, 0, original, start, target.length);
        original[n - 1] = sep;
        int[] input = original.clone();
        int[] labels = new int[n];
        Arrays.fill(labels, Masker.IGNORE);
        double t = random.nextDouble();
        int maskedCount = 0;
        for (int i = start; i < start + target.length; i++) {
            if (random.nextDouble() < t) {
                input[i] = mask;
                labels[i] = original[i];
                maskedCount++;
            }
        }
        if (maskedCount == 0 && target.length > 0) {
            int i = start + random.nextInt(target.length);
            input[i] = mask;
            labels[i] = original[i];
        }
        return new Row(train.seq2seq(input, labels, original, new byte[n], null, docId), truncated);
    }

    public Row predict(int[] prefix, int[] target, long docId) {
        int capacity = predict.maxLength() - 2;
        boolean truncated = prefix.length > capacity || target.length + 1 > predict.maxLength();
        if (prefix.length > capacity) {
            prefix = Arrays.copyOfRange(prefix, prefix.length - capacity, prefix.length);
        }
        int[] ids = new int[prefix.length + 2];
        ids[0] = cls;
        System.arraycopy(prefix, 0, ids, 1, prefix.length);
        ids[ids.length - 1] = sep;
        int[] labels = new int[ids.length];
        Arrays.fill(labels, Masker.IGNORE);
        int[] reference = Arrays.copyOf(target, target.length + 1);
        reference[target.length] = sep;
        return new Row(
                predict.seq2seq(ids, labels, ids, new byte[ids.length], reference, docId),
                truncated);
    }
}
