package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lmspark.model.loss.CrossEntropyLoss;
import dev.lmspark.model.loss.Reduction;
import java.io.Serializable;
import java.util.function.UnaryOperator;

/**
 * One objective's loss and accuracy summed over examples, in inference mode: what evaluation adds
 * up over a whole split, so its means are token-weighted (MLM, CLM) or pair-weighted (NSP), never
 * means of batch means.
 *
 * @param name {@code mlm}, {@code nsp} or {@code clm}
 * @param lossSum the summed cross-entropy (nats)
 * @param count predicted tokens, or pairs
 * @param correct how many of them the most likely prediction gets right
 */
public record EvalSums(String name, double lossSum, long count, long correct)
        implements Serializable {

    /** Both sums together (the same name). */
    public EvalSums plus(EvalSums other) {
        return new EvalSums(
                name, lossSum + other.lossSum, count + other.count, correct + other.correct);
    }

    /** The mean loss (0 when nothing was counted). */
    public double meanLoss() {
        return count == 0 ? 0 : lossSum / count;
    }

    /** The share predicted right (0 when nothing was counted). */
    public double accuracy() {
        return count == 0 ? 0 : (double) correct / count;
    }

    /**
     * The sums of a token objective: {@code head} (the vocabulary projection) applied to the hidden
     * states {@code (B, T, H)} at the positions whose label (aligned with them) is not -100.
     */
    public static EvalSums ofTokens(
            String name, NDArray hidden, NDArray labels, UnaryOperator<NDArray> head) {
        NDArray flat = labels.reshape(-1);
        NDArray positions = flat.neq(ShardBatch.IGNORE).nonzero().reshape(-1);
        long n = positions.getShape().get(0);
        if (n == 0) {
            return new EvalSums(name, 0, 0, 0);
        }
        NDArray scores = head.apply(hidden.reshape(-1, hidden.getShape().get(2)).get(positions));
        return ofScores(name, scores, flat.get(positions));
    }

    /** The sums of scores {@code (N, C)} against labels {@code (N)} (none of them ignored). */
    public static EvalSums ofScores(String name, NDArray scores, NDArray labels) {
        long n = labels.getShape().get(0);
        double loss =
                new CrossEntropyLoss(ShardBatch.IGNORE, Reduction.SUM)
                        .compute(scores.expandDims(0), labels.expandDims(0))
                        .getFloat();
        long correct =
                scores.argMax(-1)
                        .eq(labels.toType(DataType.INT64, false))
                        .toType(DataType.INT64, false)
                        .sum()
                        .getLong();
        return new EvalSums(name, loss, n, correct);
    }
}
