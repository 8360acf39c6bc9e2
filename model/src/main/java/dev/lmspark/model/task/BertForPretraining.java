package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.CrossEntropyLoss;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Functional;
import dev.lmspark.model.nn.Transformer;
import dev.lmspark.model.train.EvalSums;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.model.train.TaskLoss;
import dev.lmspark.model.train.TrainingLoss;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * BERT pretraining (Hugging Face {@code BertForPreTraining}; the method set of Lucid's {@code
 * BERTForPreTraining}): a bidirectional trunk, an MLM head — dense, exact GELU, LayerNorm (eps from
 * the config), a decoder tied to the word embeddings, and a bias — and an NSP head on the pooler
 * ({@code tanh(dense(h[:, 0]))}).
 *
 * <p>{@link #forward} returns prediction scores {@code (B, T, V)} and sequence-relationship scores
 * {@code (B, 2)} (index 0: B follows A). The losses compute the vocabulary projection only at
 * predicted positions (labels ≠ ignore index), as Google BERT does; the value equals the full
 * cross-entropy's. Extra parameters: {@code mlm_head.dense.*}, {@code mlm_head.norm.*}, {@code
 * mlm_head.decoder.bias}, {@code pooler.dense.*}, {@code nsp.*}.
 */
public final class BertForPretraining extends TrunkModel {
    /** The model from a trunk and its head parameters. */
    public BertForPretraining(Transformer trunk, Map<String, NDArray> heads) {
        super(trunk, heads, headShapes(trunk.config()));
    }

    /**
     * Fresh weights (normal(0, 0.02) matrices, unit norm weights, zero biases) from {@code seed}.
     */
    public static BertForPretraining initialize(ModelConfig config, NDManager manager, long seed) {
        Transformer trunk = Transformer.initialize(config, manager, seed);
        return new BertForPretraining(
                trunk, initializeHead(headShapes(config), config, manager, seed));
    }

    /** The head parameters' names and shapes. */
    public static Map<String, Shape> headShapes(ModelConfig c) {
        int h = c.hiddenSize();
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("mlm_head.dense.weight", new Shape(h, h));
        s.put("mlm_head.dense.bias", new Shape(h));
        s.put("mlm_head.norm.weight", new Shape(h));
        s.put("mlm_head.norm.bias", new Shape(h));
        s.put("mlm_head.decoder.bias", new Shape(c.vocabSize()));
        s.put("pooler.dense.weight", new Shape(h, h));
        s.put("pooler.dense.bias", new Shape(h));
        s.put("nsp.weight", new Shape(2, h));
        s.put("nsp.bias", new Shape(2));
        return s;
    }

    /** Prediction scores {@code (B, T, V)} and sequence-relationship scores {@code (B, 2)}. */
    public record Output(NDArray predictionScores, NDArray seqRelationshipScores) {}

    /** The forward pass in inference mode (no dropout). */
    public Output forward(BertInputs in) {
        NDArray hidden = hidden(in, null);
        return new Output(mlmScores(hidden), nspScores(hidden));
    }

    NDArray hidden(BertInputs in, SplittableRandom dropout) {
        return in.inputIds() != null
                ? trunk.forward(
                        in.inputIds(),
                        in.attentionMask(),
                        in.tokenTypeIds(),
                        in.positionIds(),
                        dropout)
                : trunk.forwardEmbeddings(
                        in.inputsEmbeds(),
                        in.inputsEmbeds().getShape().slice(0, 2),
                        in.attentionMask(),
                        in.tokenTypeIds(),
                        in.positionIds(),
                        dropout);
    }

    /** The MLM head over hidden states {@code (…, H)} → scores {@code (…, V)}. */
    NDArray mlmScores(NDArray hidden) {
        return mlmScores(
                hidden, head, trunk.parameters().get("embeddings.word"), trunk.config().normEps());
    }

    /**
     * The MLM head's computation — dense, exact GELU, LayerNorm, decoder {@code wordEmbeddings}
     * (tied), bias — from parameters named {@code mlm_head.*}; shared with {@link CausalLm}'s BERT
     * LM head.
     */
    static NDArray mlmScores(
            NDArray hidden, Map<String, NDArray> p, NDArray wordEmbeddings, double eps) {
        NDArray t =
                Functional.gelu(
                        Functional.linear(
                                hidden,
                                p.get("mlm_head.dense.weight"),
                                p.get("mlm_head.dense.bias")));
        t =
                Functional.layerNorm(
                        t, p.get("mlm_head.norm.weight"), p.get("mlm_head.norm.bias"), eps);
        return Functional.linear(t, wordEmbeddings, p.get("mlm_head.decoder.bias"));
    }

    NDArray nspScores(NDArray hidden) {
        long b = hidden.getShape().get(0);
        long h = hidden.getShape().get(2);
        NDArray first = hidden.get(":, 0, :").reshape(b, h);
        NDArray pooled =
                Functional.linear(
                                first,
                                head.get("pooler.dense.weight"),
                                head.get("pooler.dense.bias"))
                        .tanh();
        return Functional.linear(pooled, head.get("nsp.weight"), head.get("nsp.bias"));
    }

    /** MLM cross-entropy, the vocabulary projection computed at predicted positions only. */
    public NDArray mlmLoss(NDArray mlmLabels, BertInputs in, int ignoreIndex, Reduction reduction) {
        return mlmLoss(hidden(in, null), mlmLabels, ignoreIndex, reduction);
    }

    NDArray mlmLoss(NDArray hidden, NDArray mlmLabels, int ignoreIndex, Reduction reduction) {
        return new CrossEntropyLoss(ignoreIndex, reduction)
                .computeAtLabelled(hidden, mlmLabels, this::mlmScores);
    }

    /** NSP cross-entropy over the batch (labels: 0 = B follows A, 1 = random). */
    public NDArray nspLoss(NDArray nspLabels, BertInputs in, Reduction reduction) {
        return nspLoss(hidden(in, null), nspLabels, reduction);
    }

    NDArray nspLoss(NDArray hidden, NDArray nspLabels, Reduction reduction) {
        NDArray scores = nspScores(hidden).expandDims(0);
        return new CrossEntropyLoss(-100, reduction).compute(scores, nspLabels.reshape(1, -1));
    }

    /**
     * {@code mlmWeight · mlmLoss + nspWeight · nspLoss}; with {@code nspLabels} null (a single
     * segment, no pair) the NSP term is skipped.
     */
    public NDArray loss(
            NDArray mlmLabels,
            NDArray nspLabels,
            BertInputs in,
            float mlmWeight,
            float nspWeight,
            int ignoreIndex,
            Reduction reduction) {
        return loss(mlmLabels, nspLabels, in, mlmWeight, nspWeight, ignoreIndex, reduction, null);
    }

    /**
     * As {@link #loss(NDArray, NDArray, BertInputs, float, float, int, Reduction)} in training
     * mode: the trunk's dropout draws from {@code dropout} (null: inference mode, no dropout).
     */
    public NDArray loss(
            NDArray mlmLabels,
            NDArray nspLabels,
            BertInputs in,
            float mlmWeight,
            float nspWeight,
            int ignoreIndex,
            Reduction reduction,
            SplittableRandom dropout) {
        NDArray hidden = hidden(in, dropout);
        // Engine-owned factors: autograd keeps them for the backward pass (see Functional.scalar).
        NDArray mlm = mlmLoss(hidden, mlmLabels, ignoreIndex, reduction);
        NDArray total = mlm.mul(Functional.scalar(mlm, mlmWeight));
        return nspLabels == null
                ? total
                : total.add(
                        nspLoss(hidden, nspLabels, reduction)
                                .mul(Functional.scalar(mlm, nspWeight)));
    }

    /**
     * The pretraining loss of prepared rows: the MLM term over predicted tokens (MLE with the
     * vocabulary projection at predicted positions only, or a SMILE variant over the full scores),
     * plus the NSP term (cross-entropy over the pairs) when the batch has next-sentence labels;
     * both weighted 1.
     */
    @Override
    public TaskLoss loss(ShardBatch batch, TrainingLoss loss, long step, SplittableRandom dropout) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray labels = batch.labels(m);
        NDArray hidden = hidden(inputs(batch, m), dropout);
        NDArray mlm =
                loss.isMle()
                        ? mlmLoss(hidden, labels, ShardBatch.IGNORE, Reduction.MEAN)
                        : loss.compute(mlmScores(hidden), labels, step);
        List<TaskLoss.Term> terms = new ArrayList<>();
        terms.add(new TaskLoss.Term("mlm", mlm, batch.predicted()));
        NDArray nspLabels = batch.nextSentenceLabels(m);
        if (nspLabels == null) {
            return new TaskLoss(mlm, terms);
        }
        NDArray nsp = nspLoss(hidden, nspLabels, Reduction.MEAN);
        terms.add(new TaskLoss.Term("nsp", nsp, batch.rows()));
        return new TaskLoss(mlm.add(nsp), terms);
    }

    /** MLM sums at the predicted positions, and NSP sums when the batch has NSP labels. */
    @Override
    public List<EvalSums> evaluate(ShardBatch batch) {
        NDManager m = trunk.parameters().get("embeddings.word").getManager();
        NDArray hidden = hidden(inputs(batch, m), null);
        List<EvalSums> out = new ArrayList<>();
        out.add(EvalSums.ofTokens("mlm", hidden, batch.labels(m), this::mlmScores));
        NDArray nspLabels = batch.nextSentenceLabels(m);
        if (nspLabels != null) {
            out.add(EvalSums.ofScores("nsp", nspScores(hidden), nspLabels));
        }
        return out;
    }

    private static BertInputs inputs(ShardBatch batch, NDManager m) {
        return new BertInputs(
                batch.inputIds(m),
                batch.attentionMask(m),
                batch.tokenTypeIds(m),
                batch.positionIds(m),
                null);
    }

    /**
     * Lucid {@code BERTForPreTraining.get_loss_from_text}: the weighted pretraining loss of one
     * example given as raw text, in inference mode (no dropout). The text is encoded as {@code
     * [CLS] A [SEP] B [SEP]} (token types 0, then 1 from B on) or, with {@code textB} null, as
     * {@code [CLS] A [SEP]}; truncated longest-first to {@code options.maxLength()} (see {@link
     * BertTextBatch}); masked by {@link #createMaskedLmInputs} with the data-prep {@link Masker}
     * from (seed, 0); then {@link #loss} with ignore index -100.
     *
     * <p>With {@code textB} null there is no pair, so <b>the NSP term is skipped</b> and the result
     * is {@code mlmWeight · mlmLoss}; {@code nspLabel} is then not used. When the masking chooses
     * no position (possible for a short text with Bernoulli masking) the MLM term is 0.
     *
     * @param manager where the encoded arrays (and the result) are created
     * @param tokenizer a BERT (WordPiece) tokenizer with {@code [CLS] [SEP] [PAD] [MASK]}, e.g.
     *     {@code LmTokenizer.fromJson} of a {@code tokenizer.json} written by {@code
     *     train-tokenizer}; its ids must fit the model's vocabulary
     * @param textA the first segment
     * @param textB the second segment, or null for a single segment
     * @param nspLabel 0 when B really follows A ({@code IsNext}, Hugging Face's convention), 1 when
     *     B is random
     * @param options max length, masking, seed, weights and reduction
     * @return the loss, a scalar
     * @throws IllegalArgumentException with one line naming the value and the fix: an empty text, a
     *     {@code maxLength} too short or longer than learned positions allow, a tokenizer that does
     *     not fit the model, an NSP label other than 0 or 1
     */
    public NDArray lossFromText(
            NDManager manager,
            LmTokenizer tokenizer,
            String textA,
            String textB,
            int nspLabel,
            TextLossOptions options) {
        return lossFromText(
                manager,
                tokenizer,
                List.of(textA),
                textB == null ? null : Collections.singletonList(textB),
                new int[] {nspLabel},
                options);
    }

    /**
     * {@link #lossFromText(NDManager, LmTokenizer, String, String, int, TextLossOptions)} over a
     * batch: row r is masked from (seed, r); the losses are reduced over the whole batch (every
     * predicted token, every pair).
     *
     * @param textsA segment A of each example
     * @param textsB segment B of each example, or null for single segments (no NSP term)
     * @param nspLabels one label per example (0 = B follows A, 1 = random); not used, and may be
     *     null, when {@code textsB} is null
     */
    public NDArray lossFromText(
            NDManager manager,
            LmTokenizer tokenizer,
            List<String> textsA,
            List<String> textsB,
            int[] nspLabels,
            TextLossOptions options) {
        Integer maskId = tokenizer.specials().mask();
        if (maskId == null) {
            throw new IllegalArgumentException(
                    "the tokenizer has no [MASK] token; use a BERT (WordPiece) tokenizer, e.g."
                            + " from train-tokenizer --type wordpiece");
        }
        ModelConfig c = trunk.config();
        if (tokenizer.vocabSize() > c.vocabSize()) {
            throw new IllegalArgumentException(
                    "the tokenizer has "
                            + tokenizer.vocabSize()
                            + " tokens but the model's vocab_size is "
                            + c.vocabSize()
                            + "; build the model with vocab_size at least "
                            + tokenizer.vocabSize());
        }
        if (c.positions().equals("learned") && options.maxLength() > c.maxPositions()) {
            throw new IllegalArgumentException(
                    "maxLength "
                            + options.maxLength()
                            + " is longer than the model's max_positions "
                            + c.maxPositions()
                            + "; use maxLength at most "
                            + c.maxPositions());
        }
        NDArray nsp = null;
        if (textsB != null) {
            if (nspLabels == null || nspLabels.length != textsA.size()) {
                throw new IllegalArgumentException(
                        (nspLabels == null ? "no" : String.valueOf(nspLabels.length))
                                + " NSP labels for "
                                + textsA.size()
                                + " pairs; give one label (0 or 1) per pair");
            }
            for (int label : nspLabels) {
                if (label != 0 && label != 1) {
                    throw new IllegalArgumentException(
                            "nspLabel " + label + " is not 0 (B follows A) or 1 (B is random)");
                }
            }
            nsp = manager.create(nspLabels).toType(DataType.INT64, false);
        }
        BertTextBatch batch =
                BertTextBatch.encode(tokenizer, textsA, textsB, options.maxLength(), manager);
        Masker masker =
                new Masker(
                        options.masking(), maskId, tokenizer.vocabSize(), tokenizer.specialIds());
        NDArray[] masked =
                createMaskedLmInputs(
                        batch.inputIds(),
                        batch.attentionMask(),
                        batch.specialTokensMask(),
                        batch.wordStart(),
                        masker,
                        options.seed());
        return loss(
                masked[1],
                nsp,
                BertInputs.of(masked[0], batch.attentionMask(), batch.tokenTypeIds()),
                options.mlmWeight(),
                options.nspWeight(),
                Masker.IGNORE,
                options.reduction());
    }

    /** The most likely token id at every position {@code (B, T)}. */
    public NDArray predictMlmTokenIds(BertInputs in) {
        return forward(in).predictionScores().argMax(-1);
    }

    /** The most likely NSP label of every pair {@code (B)}. */
    public NDArray predictNspLabels(BertInputs in) {
        return forward(in).seqRelationshipScores().argMax(-1);
    }

    /** Share of predicted positions whose most likely token is the label. */
    public float mlmAccuracy(NDArray mlmLabels, BertInputs in, int ignoreIndex) {
        NDArray predicted = predictMlmTokenIds(in);
        NDArray counted = mlmLabels.neq(ignoreIndex);
        long n = counted.sum().getLong();
        if (n == 0) {
            return 0;
        }
        NDArray right =
                predicted.eq(mlmLabels.toType(predicted.getDataType(), false)).logicalAnd(counted);
        return right.toType(DataType.FLOAT32, false).sum().getFloat() / n;
    }

    /** Share of pairs whose NSP label is predicted right. */
    public float nspAccuracy(NDArray nspLabels, BertInputs in) {
        NDArray predicted = predictNspLabels(in);
        return predicted
                .eq(nspLabels.toType(predicted.getDataType(), false))
                .toType(DataType.FLOAT32, false)
                .mean()
                .getFloat();
    }

    /**
     * (MLM accuracy, NSP accuracy, weighted) with weighted = (w_mlm·mlm + w_nsp·nsp) / (w_mlm +
     * w_nsp).
     */
    public float[] accuracy(
            NDArray mlmLabels,
            NDArray nspLabels,
            BertInputs in,
            int ignoreIndex,
            float mlmWeight,
            float nspWeight) {
        float mlm = mlmAccuracy(mlmLabels, in, ignoreIndex);
        float nsp = nspAccuracy(nspLabels, in);
        return new float[] {
            mlm, nsp, (mlmWeight * mlm + nspWeight * nsp) / (mlmWeight + nspWeight)
        };
    }

    /**
     * BERT masking of a batch with the data-preparation code itself ({@link Masker}): returns the
     * masked input ids and the labels (-100 where nothing is predicted), both {@code (B, T)}. Row r
     * draws from (seed, r); special tokens (and padding, where {@code attentionMask} is 0) are
     * never chosen.
     */
    public static NDArray[] createMaskedLmInputs(
            NDArray inputIds,
            NDArray attentionMask,
            NDArray specialTokensMask,
            Masker masker,
            long seed) {
        return createMaskedLmInputs(inputIds, attentionMask, specialTokensMask, null, masker, seed);
    }

    /**
     * As {@link #createMaskedLmInputs(NDArray, NDArray, NDArray, Masker, long)}, with the word
     * starts {@code (B, T)} (1 at the first sub-token of each word) that whole-word masking needs;
     * null: every token is a word.
     */
    public static NDArray[] createMaskedLmInputs(
            NDArray inputIds,
            NDArray attentionMask,
            NDArray specialTokensMask,
            NDArray wordStart,
            Masker masker,
            long seed) {
        return DynamicMasking.mask(
                inputIds, attentionMask, specialTokensMask, wordStart, masker, seed);
    }
}
