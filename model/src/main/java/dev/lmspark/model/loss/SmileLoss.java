package dev.lmspark.model.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.random.Seeds;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * SMILE — subset-masked MLE (Yue et al. 2023, "Semipermeable Maximum Likelihood Estimation"): the
 * softmax at every position of a sequence is restricted to a subset of the vocabulary, and the loss
 * is the cross-entropy of the label within it.
 *
 * <ul>
 *   <li>{@link Variant#SUBSET}: the subset of sequence b is the set of label ids present in it
 *       (ignored positions excluded, whatever their id); with {@code firstTokenMle} the first
 *       predicted position of each sequence keeps the full softmax.
 *   <li>{@link Variant#RANDOM}: at each position, {@code sampleNum} ids drawn uniformly from the
 *       vocabulary (duplicates counted once) plus the label; draws come from a generator keyed by
 *       (seed, step), so a training step is reproducible.
 *   <li>{@link Variant#REVERSE}: every id not in the sequence's subset, plus the position's label.
 * </ul>
 *
 * <p>Logits {@code (B, T, V)}, labels {@code (B, T)} already aligned with them (a causal LM passes
 * its shifted labels). Masks are built as {@code B×V} (or {@code B×T×(S+1)} gathered ids), never as
 * {@code B×T×V}. Reductions as {@link CrossEntropyLoss}.
 */
public final class SmileLoss {
    /** The subset each position's softmax is restricted to. */
    public enum Variant {
        SUBSET,
        RANDOM,
        REVERSE
    }

    private final Variant variant;
    private final boolean firstTokenMle;
    private final int sampleNum;
    private final long seed;
    private final int ignoreIndex;
    private final Reduction reduction;

    /**
     * @param variant which subset
     * @param firstTokenMle SUBSET only: full softmax at each sequence's first predicted position
     * @param sampleNum RANDOM only: ids drawn per position (default 10)
     * @param seed RANDOM only: root seed of the draws
     * @param ignoreIndex label of positions without a loss (default -100)
     * @param reduction mean over counted tokens (default), sum, or none
     */
    public SmileLoss(
            Variant variant,
            boolean firstTokenMle,
            int sampleNum,
            long seed,
            int ignoreIndex,
            Reduction reduction) {
        if (sampleNum < 1) {
            throw new IllegalArgumentException("sampleNum " + sampleNum + " must be at least 1");
        }
        this.variant = variant;
        this.firstTokenMle = firstTokenMle;
        this.sampleNum = sampleNum;
        this.seed = seed;
        this.ignoreIndex = ignoreIndex;
        this.reduction = reduction;
    }

    /** SMILE with the paper's defaults: subset, first-token MLE, mean over counted tokens. */
    public static SmileLoss subset() {
        return new SmileLoss(Variant.SUBSET, true, 10, 0, -100, Reduction.MEAN);
    }

    /** The loss at training step {@code step} (which keys the random variant's draws). */
    public NDArray compute(NDArray logits, NDArray labels, long step) {
        long[] shape = logits.getShape().getShape();
        long[] sampled = null;
        if (variant == Variant.RANDOM) {
            int vocab = (int) shape[2];
            SplittableRandom random = Seeds.random(seed, step);
            sampled = new long[(int) (shape[0] * shape[1] * sampleNum)];
            for (int i = 0; i < sampled.length; i++) {
                sampled[i] = random.nextInt(vocab);
            }
        }
        return compute(logits, labels, sampled);
    }

    /**
     * The loss with the random variant's draws given: {@code sampled} holds {@code B×T×sampleNum}
     * ids in row-major order (ignored by the other variants). Half-precision logits are cast to
     * float32 first: the loss is float32.
     */
    public NDArray compute(NDArray logits, NDArray labels, long[] sampled) {
        logits = TokenLoss.inFloat32(logits);
        long[] shape = logits.getShape().getShape();
        int b = (int) shape[0];
        int t = (int) shape[1];
        int v = (int) shape[2];
        long[] label = labels.toType(DataType.INT64, false).toLongArray();
        NDManager manager = logits.getManager();
        DataType type = logits.getDataType();
        NDArray counted = TokenLoss.counted(labels, ignoreIndex, type);
        NDArray labelLogits = TokenLoss.labelLogits(logits, labels, ignoreIndex);
        NDArray lse =
                switch (variant) {
                    case SUBSET -> subset(logits, label, b, t, v, manager, type);
                    case RANDOM -> random(logits, label, sampled, b, t, manager, type);
                    case REVERSE ->
                            TokenLoss.logAddExp(
                                    TokenLoss.logSumExp(
                                            logits.add(reverseBias(label, b, t, v, manager, type)),
                                            -1),
                                    labelLogits);
                };
        // where, not multiplication, so ignored positions cannot carry a NaN into the sum.
        NDArray perToken =
                NDArrays.where(
                        counted.toType(DataType.BOOLEAN, false),
                        lse.sub(labelLogits),
                        counted.zerosLike());
        return reduction.apply(perToken, counted);
    }

    /** Each sequence's label ids: 0 in the bias, -inf elsewhere ({@code B×1×V}). */
    private NDArray subset(
            NDArray logits, long[] label, int b, int t, int v, NDManager m, DataType type) {
        float[] bias = new float[b * v];
        Arrays.fill(bias, Float.NEGATIVE_INFINITY);
        boolean[] first = new boolean[b * t];
        for (int i = 0; i < b; i++) {
            boolean any = false;
            for (int j = 0; j < t; j++) {
                long id = label[i * t + j];
                if (id != ignoreIndex) {
                    bias[i * v + (int) id] = 0;
                    if (!any) {
                        first[i * t + j] = true;
                    }
                    any = true;
                }
            }
            if (!any) {
                // No label in this sequence: it adds nothing; a full softmax keeps it finite.
                Arrays.fill(bias, i * v, (i + 1) * v, 0);
            }
        }
        NDArray lse =
                TokenLoss.logSumExp(
                        logits.add(m.create(bias, new Shape(b, 1, v)).toType(type, false)), -1);
        if (!firstTokenMle) {
            return lse;
        }
        return NDArrays.where(
                m.create(first, new Shape(b, t)), TokenLoss.logSumExp(logits, -1), lse);
    }

    /** log-sum-exp over each position's drawn ids and its label, repeats counted once. */
    private NDArray random(
            NDArray logits,
            long[] label,
            long[] sampled,
            int b,
            int t,
            NDManager m,
            DataType type) {
        if (sampled == null || sampled.length != b * t * sampleNum) {
            throw new IllegalArgumentException(
                    "the random variant needs " + (b * t * sampleNum) + " sampled ids");
        }
        int k = sampleNum + 1;
        long[] ids = new long[b * t * k];
        float[] repeat = new float[b * t * k];
        for (int p = 0; p < b * t; p++) {
            for (int s = 0; s < sampleNum; s++) {
                ids[p * k + s] = sampled[p * sampleNum + s];
            }
            ids[p * k + sampleNum] = label[p] == ignoreIndex ? 0 : label[p];
            for (int s = 1; s < k; s++) {
                for (int r = 0; r < s; r++) {
                    if (ids[p * k + r] == ids[p * k + s]) {
                        repeat[p * k + s] = Float.NEGATIVE_INFINITY;
                        break;
                    }
                }
            }
        }
        NDArray gathered = logits.gather(m.create(ids, new Shape(b, t, k)), -1);
        return TokenLoss.logSumExp(
                gathered.add(m.create(repeat, new Shape(b, t, k)).toType(type, false)), -1);
    }

    /** 0 at ids outside each sequence's subset, -inf at ids in it ({@code B×1×V}). */
    private NDArray reverseBias(long[] label, int b, int t, int v, NDManager m, DataType type) {
        float[] bias = new float[b * v];
        for (int i = 0; i < b; i++) {
            int members = 0;
            for (int j = 0; j < t; j++) {
                long id = label[i * t + j];
                if (id != ignoreIndex && bias[i * v + (int) id] == 0) {
                    bias[i * v + (int) id] = Float.NEGATIVE_INFINITY;
                    members++;
                }
            }
            if (members == v) {
                throw new IllegalArgumentException(
                        "sequence "
                                + i
                                + " uses every id of the vocabulary: its reverse subset is empty");
            }
        }
        return m.create(bias, new Shape(b, 1, v)).toType(type, false);
    }
}
