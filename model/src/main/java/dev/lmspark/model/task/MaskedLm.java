package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.CrossEntropyLoss;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Functional;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.train.EvalSums;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.model.train.TaskLoss;
import dev.lmspark.model.train.TrainingLoss;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A masked language model on the rotary trunk (the XLM framework's {@code
 * RotaryTransformerMLMModel}; config architecture {@code rotary-mlm}): token embeddings, pre-LN
 * layers with RoPE and bidirectional attention, a final norm, and a linear unembedding to the
 * vocabulary without bias.
 *
 * <p>Letters: B batch, T time, H hidden, V vocabulary. Inputs are token ids {@code (B, T)}, an
 * attention mask {@code (B, T)} (1 real, 0 padding: padded keys get no weight, so real tokens do
 * not depend on the padding) and position ids {@code (B, T)} (default 0…T−1; give them for
 * left-padded rows, counted from each row's first real token). There are no token types.
 *
 * <p>xlm's final layer ({@code RotaryTransformerFinalLayer}: LayerNorm then a bias-free linear) is
 * the trunk's {@code final_norm} here followed by the head: {@code lm_head.weight} {@code (V, H)}
 * when the config does not tie word embeddings (as xlm does), else the word embeddings. lmspark's
 * {@code rotary-mlm} differs from xlm in three fixed details: exact (erf) GELU rather than xlm's
 * ReLU or tanh-GELU, RoPE over the whole head in the {@code rotate_half} layout, and one {@code
 * bias} switch for every linear layer of the trunk (xlm has none on the attention projections).
 */
public final class MaskedLm extends TrunkModel {
    /**
     * The model from a bidirectional trunk and its head parameters.
     *
     * @throws IllegalArgumentException when the trunk is causal or a head parameter is missing
     */
    public MaskedLm(Transformer trunk, Map<String, NDArray> head) {
        super(bidirectional(trunk), head, headShapes(trunk.config()));
    }

    private static Transformer bidirectional(Transformer trunk) {
        if (trunk.config().causal()) {
            throw new IllegalArgumentException(
                    "a masked LM needs a bidirectional trunk (config causal=false)");
        }
        return trunk;
    }

    /**
     * Fresh weights (normal(0, initializer_range) matrices, unit norm weights, zero biases) from
     * {@code seed}.
     */
    public static MaskedLm initialize(ModelConfig config, NDManager manager, long seed) {
        Map<String, NDArray> head = initializeHead(headShapes(config), config, manager, seed);
        return new MaskedLm(Transformer.initialize(config, manager, seed), head);
    }

    /** The head's parameters: {@code lm_head.weight} {@code (V, H)} when untied, else none. */
    public static Map<String, Shape> headShapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), c.hiddenSize()));
        }
        return s;
    }

    /** The output embedding matrix {@code (V, H)} (the word embeddings when tied). */
    public NDArray getOutputEmbeddings() {
        return outputEmbeddings();
    }

    /**
     * Logits {@code (B, T, V)} in inference mode.
     *
     * @param ids token ids {@code (B, T)}
     * @param attentionMask {@code (B, T)}, 1 real / 0 padding; null = all real
     * @param positionIds {@code (B, T)}; null = 0…T−1
     */
    public NDArray forward(NDArray ids, NDArray attentionMask, NDArray positionIds) {
        return logits(hidden(ids, attentionMask, positionIds, null));
    }

    /** The most likely token id at every position {@code (B, T)}. */
    public NDArray predict(NDArray ids, NDArray attentionMask, NDArray positionIds) {
        return forward(ids, attentionMask, positionIds).argMax(-1);
    }

    NDArray hidden(
            NDArray ids, NDArray attentionMask, NDArray positionIds, SplittableRandom dropout) {
        return trunk.forward(ids, attentionMask, null, positionIds, dropout);
    }

    private NDArray logits(NDArray hidden) {
        return Functional.linear(hidden, getOutputEmbeddings(), null);
    }

    /**
     * MLM cross-entropy in inference mode. With {@link Reduction#MEAN} or {@link Reduction#SUM} the
     * vocabulary projection is computed at predicted positions only (labels ≠ {@code ignoreIndex});
     * the value equals that of the full logits.
     *
     * @param labels {@code (B, T)}: the id to predict, or {@code ignoreIndex}
     * @param ignoreIndex label of positions not predicted (-100 in lmspark's shards)
     */
    public NDArray mlmLoss(
            NDArray ids,
            NDArray attentionMask,
            NDArray positionIds,
            NDArray labels,
            int ignoreIndex,
            Reduction reduction) {
        return mlmLoss(ids, attentionMask, positionIds, labels, ignoreIndex, reduction, null);
    }

    /**
     * As {@link #mlmLoss(NDArray, NDArray, NDArray, NDArray, int, Reduction)} in training mode: the
     * trunk's dropout draws from {@code dropout} (null: inference mode).
     */
    public NDArray mlmLoss(
            NDArray ids,
            NDArray attentionMask,
            NDArray positionIds,
            NDArray labels,
            int ignoreIndex,
            Reduction reduction,
            SplittableRandom dropout) {
        return new CrossEntropyLoss(ignoreIndex, reduction)
                .computeAtLabelled(
                        hidden(ids, attentionMask, positionIds, dropout), labels, this::logits);
    }

    /**
     * The MLM loss of prepared rows over their predicted tokens: MLE with the vocabulary projection
     * at predicted positions only, or a SMILE variant over the full logits. Token types are not
     * used (the rotary trunk has none).
     */
    @Override
    public TaskLoss loss(ShardBatch batch, TrainingLoss loss, long step, SplittableRandom dropout) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray labels = batch.labels(m);
        NDArray hidden =
                hidden(batch.inputIds(m), batch.attentionMask(m), batch.positionIds(m), dropout);
        NDArray mlm =
                loss.isMle()
                        ? new CrossEntropyLoss(ShardBatch.IGNORE, Reduction.MEAN)
                                .computeAtLabelled(hidden, labels, this::logits)
                        : loss.compute(logits(hidden), labels, step);
        return new TaskLoss(mlm, List.of(new TaskLoss.Term("mlm", mlm, batch.predicted())));
    }

    /** MLM sums at the predicted positions. */
    @Override
    public List<EvalSums> evaluate(ShardBatch batch) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray hidden =
                hidden(batch.inputIds(m), batch.attentionMask(m), batch.positionIds(m), null);
        return List.of(EvalSums.ofTokens("mlm", hidden, batch.labels(m), this::logits));
    }
}
