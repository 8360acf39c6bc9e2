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
import dev.lmspark.model.nn.Initialization;
import dev.lmspark.model.nn.Transformer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A causal language model: a causal trunk and an output head over the vocabulary. For the Llama
 * architecture the head is {@code lm_head.weight} {@code (V, H)} (untied unless the config ties
 * it), as {@code LlamaForCausalLM}; for the BERT architecture it is the MLM head's structure —
 * dense, GELU, LayerNorm, decoder tied to the word embeddings, bias — on a BERT trunk with a causal
 * mask (seed 000's {@code BertLMHeadModel}). The loss shifts: position t predicts label t+1.
 */
public final class CausalLm {
    private final Transformer trunk;
    private final Map<String, NDArray> head;

    public CausalLm(Transformer trunk, Map<String, NDArray> head) {
        if (!trunk.config().causal()) {
            throw new IllegalArgumentException(
                    "a causal LM needs a causal trunk (config causal=true)");
        }
        this.trunk = trunk;
        this.head = head;
        for (String name : headShapes(trunk.config()).keySet()) {
            if (!head.containsKey(name)) {
                throw new IllegalArgumentException("missing parameter " + name);
            }
        }
    }

    /** Fresh weights from {@code seed}. */
    public static CausalLm initialize(ModelConfig config, NDManager manager, long seed) {
        Map<String, NDArray> head =
                Initialization.initialize(
                        headShapes(config), config.initializerRange(), manager, seed);
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

    public Transformer trunk() {
        return trunk;
    }

    /** Every parameter, trunk then head. */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> all = new LinkedHashMap<>(trunk.parameters());
        all.putAll(head);
        return all;
    }

    /** The output embedding matrix {@code (V, H)} (the word embeddings when tied). */
    public NDArray getOutputEmbeddings() {
        NDArray own = head.get("lm_head.weight");
        return own != null ? own : trunk.parameters().get("embeddings.word");
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
        // The labels move left (the last position predicts nothing: ignore index) rather than the
        // logits right: slicing the (B, T, V) logits would cost a zero-filled copy of all of them
        // in the backward pass.
        NDArray last =
                labels.getManager()
                        .full(new Shape(labels.getShape().get(0), 1), -100, labels.getDataType());
        NDArray next = NDArrays.concat(new NDList(labels.get(new NDIndex(":, 1:")), last), 1);
        return new CrossEntropyLoss().compute(logits, next);
    }
}
