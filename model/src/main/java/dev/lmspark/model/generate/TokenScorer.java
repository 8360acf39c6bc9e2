package dev.lmspark.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.MaskedLm;

/** A masked LM as {@link IterativeUnmasking} sees it: token scores at every position. */
@FunctionalInterface
public interface TokenScorer {
    /**
     * Scores (logits) {@code (B, T, V)} in inference mode.
     *
     * @param ids token ids {@code (B, T)}
     * @param attentionMask {@code (B, T)}, 1 real / 0 padding
     * @param positionIds {@code (B, T)}, counted from each row's first real token
     */
    NDArray scores(NDArray ids, NDArray attentionMask, NDArray positionIds);

    /**
     * The MLM head of a BERT pretraining model; refuses rows longer than its learned position
     * table.
     */
    static TokenScorer of(BertForPretraining model) {
        ModelConfig c = model.trunk().config();
        return (ids, attentionMask, positionIds) -> {
            if (c.positions().equals("learned")) {
                long longest = positionIds.max().toType(DataType.INT64, false).getLong() + 1;
                if (longest > c.maxPositions()) {
                    throw new IllegalArgumentException(
                            "a row of "
                                    + longest
                                    + " tokens is longer than the model's max_positions "
                                    + c.maxPositions()
                                    + "; use a shorter prompt or fewer new tokens");
                }
            }
            return model.forward(new BertInputs(ids, attentionMask, null, positionIds, null))
                    .predictionScores();
        };
    }

    /** A rotary masked LM's logits (rotary positions: no table to outgrow). */
    static TokenScorer of(MaskedLm model) {
        return model::forward;
    }
}
