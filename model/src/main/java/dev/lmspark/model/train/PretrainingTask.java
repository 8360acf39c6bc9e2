package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import dev.lmspark.model.config.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What training needs of a pretraining model: its parameters by name and the loss of a batch of
 * prepared-dataset rows. Implemented by {@code BertForPretraining} (MLM, + NSP when the batch has
 * next-sentence labels), {@code MaskedLm} (MLM) and {@code CausalLm} (next-token prediction; the
 * labels are shifted inside).
 */
public interface PretrainingTask {
    /** The model's config. */
    ModelConfig config();

    /** Every parameter by lmspark name (live arrays). */
    Map<String, NDArray> parameters();

    /**
     * The same model over other arrays of the same names and shapes (e.g. a lower-precision working
     * copy of the parameters), sharing them, not copying.
     *
     * @throws UnsupportedOperationException for a task that cannot be rebuilt (the default)
     */
    default PretrainingTask withParameters(Map<String, NDArray> parameters) {
        throw new UnsupportedOperationException(
                getClass().getSimpleName() + " cannot be rebuilt over other arrays");
    }

    /**
     * The loss of {@code batch}, its arrays created on the parameters' device in the caller's
     * {@code NDScope}.
     *
     * @param batch B rows of T tokens
     * @param loss MLE or a SMILE variant (applies to the token terms; NSP is always cross-entropy)
     * @param step the training step (keys SMILE's random draws)
     * @param dropout the dropout generator for training; null for inference (no dropout)
     */
    TaskLoss loss(ShardBatch batch, TrainingLoss loss, long step, SplittableRandom dropout);

    /**
     * Loss and accuracy sums of {@code batch} in inference mode (no dropout), one entry per
     * objective, plain cross-entropy whatever loss trains the model; arrays in the caller's {@code
     * NDScope}.
     */
    List<EvalSums> evaluate(ShardBatch batch);
}
