package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.CrossEntropyLoss;
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
 * A causal language model: a causal trunk and an output head over the vocabulary. For the Llama
 * architecture the head is {@code lm_head.weight} {@code (V, H)} (untied unless the config ties
 * it), as {@code LlamaForCausalLM}; for the BERT architecture it is the MLM head's structure —
 * dense, GELU, LayerNorm, decoder tied to the word embeddings, bias — on a BERT trunk with a causal
 * mask (Hugging Face {@code BertLMHeadModel}). The loss shifts: position t predicts label t+1.
 */
public final class CausalLm extends TrunkModel {
    public CausalLm(Transformer trunk, Map<String, NDArray> head) {
        super(causal(trunk), head, headShapes(trunk.config()));
    }

    private static Transformer causal(Transformer trunk) {
        if (!trunk.config().causal()) {
            throw new IllegalArgumentException(
                    "a causal LM needs a causal trunk (config causal=true)");
        }
        return trunk;
    }

    /** Fresh weights from {@code seed}. */
    public static CausalLm initialize(ModelConfig config, NDManager manager, long seed) {
        Map<String, NDArray> head = initializeHead(headShapes(config), config, manager, seed);
        return new CausalLm(Transformer.initialize(config, manager, seed), head);
    }

    /** The head's parameters: {@code lm_head.weight} (untied) or the MLM-head structure (BERT). */
    public static Map<String, Shape> headShapes(ModelConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        if (c.architecture().equals("bert")) {
            Map<String, Shape> mlm = BertForPretraining.headShapes(c);
            for (String n :
                    new String[] {
                        "mlm_head.dense.weight",
                        "mlm_head.dense.bias",
                        "mlm_head.norm.weight",
                        "mlm_head.norm.bias",
                        "mlm_head.decoder.bias"
                    }) {
                s.put(n, mlm.get(n));
            }
        } else if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new Shape(c.vocabSize(), c.hiddenSize()));
        }
        return s;
    }

    /** The output embedding matrix {@code (V, H)} (the word embeddings when tied). */
    public NDArray getOutputEmbeddings() {
        return outputEmbeddings();
    }

    /** Replaces the output embeddings (an untied head only). */
    public void setOutputEmbeddings(NDArray weights) {
        if (!head.containsKey("lm_head.weight")) {
            throw new IllegalStateException(
                    "the output embeddings are tied to the word embeddings");
        }
        head.put("lm_head.weight", weights);
    }

    /** Logits {@code (B, T, V)} in inference mode. */
    public NDArray forward(NDArray ids, NDArray attentionMask, NDArray positionIds) {
        return forward(ids, attentionMask, positionIds, null);
    }

    /**
     * Logits {@code (B, T, V)}; in training mode the trunk's dropout draws from {@code dropout}
     * (seed it from (seed, step) for a reproducible run), null for inference mode.
     */
    public NDArray forward(
            NDArray ids, NDArray attentionMask, NDArray positionIds, SplittableRandom dropout) {
        return logits(trunk.forward(ids, attentionMask, null, positionIds, dropout));
    }

    /**
     * Logits {@code (B, T, V)} of {@code T} new positions, computed incrementally: earlier
     * positions come from {@code cache} (see {@link Transformer#forwardIncremental}), which gains
     * the new ones.
     */
    public NDArray forwardIncremental(
            NDArray ids, NDArray attentionMask, NDArray positionIds, Transformer.KvCache cache) {
        return logits(trunk.forwardIncremental(ids, attentionMask, positionIds, cache));
    }

    private NDArray logits(NDArray hidden) {
        if (trunk.config().architecture().equals("bert")) {
            return BertForPretraining.mlmScores(
                    hidden, head, getOutputEmbeddings(), trunk.config().normEps());
        }
        return Functional.linear(hidden, getOutputEmbeddings(), null);
    }

    /** Mean cross-entropy of next-token prediction: logits at t against labels at t+1. */
    public NDArray loss(NDArray logits, NDArray labels) {
        return new CrossEntropyLoss().compute(logits, nextTokenLabels(labels));
    }

    /**
     * Labels {@code (B, T)} moved one position left, -100 at the last position: what the logits at
     * each position predict.
     */
    public static NDArray nextTokenLabels(NDArray labels) {
        // The labels move left (the last position predicts nothing: ignore index) rather than the
        // logits right: slicing the (B, T, V) logits would cost a zero-filled copy of all of them
        // in the backward pass.
        NDArray last =
                labels.getManager()
                        .full(new Shape(labels.getShape().get(0), 1), -100, labels.getDataType());
        return NDArrays.concat(new NDList(labels.get(new NDIndex(":, 1:")), last), 1);
    }

    /**
     * The next-token loss of prepared rows (labels as the shards hold them, unshifted), mean over
     * the predicted next tokens, MLE or a SMILE variant.
     */
    @Override
    public TaskLoss loss(ShardBatch batch, TrainingLoss loss, long step, SplittableRandom dropout) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray next = nextTokenLabels(batch.labels(m));
        NDArray logits =
                forward(batch.inputIds(m), batch.attentionMask(m), batch.positionIds(m), dropout);
        NDArray clm = loss.compute(logits, next, step);
        return new TaskLoss(clm, List.of(new TaskLoss.Term("clm", clm, predictedNext(batch))));
    }

    /** Labelled positions that have a labelled successor in the same row. */
    private static long predictedNext(ShardBatch batch) {
        long n = 0;
        int t = batch.length();
        int[] labels = batch.labels();
        for (int r = 0; r < batch.rows(); r++) {
            for (int i = 1; i < t; i++) {
                n += labels[r * t + i] != ShardBatch.IGNORE ? 1 : 0;
            }
        }
        return n;
    }

    /** Next-token sums at every position whose successor is labelled. */
    @Override
    public List<EvalSums> evaluate(ShardBatch batch) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray hidden =
                trunk.forward(
                        batch.inputIds(m),
                        batch.attentionMask(m),
                        null,
                        batch.positionIds(m),
                        null);
        return List.of(
                EvalSums.ofTokens("clm", hidden, nextTokenLabels(batch.labels(m)), this::logits));
    }
}
