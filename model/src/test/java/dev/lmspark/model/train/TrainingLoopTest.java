package dev.lmspark.model.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.collate.Segment;
import dev.lmspark.data.collate.SentencePacking;
import dev.lmspark.data.collate.SentenceSplitter;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.PreTokenizer;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerTrainer;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.model.optim.GradientClipping;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * MLM training of {@code bert-mini} on the sample corpus (tokenizer trained in-process, masking by
 * the data-prep Masker, AdamW with warm-up, global-norm clipping): the loss goes down. Each step's
 * arrays live in an {@link NDScope}; optimizer state is kept out of it.
 *
 * <p>Slow suite, and known to fail now and then: some runs turn the loss into NaN (under
 * investigation with the native-memory growth of long loops, see the model issue).
 */
@Tag("slow")
class TrainingLoopTest {
    static final int T = 64;
    static final int B = 8;
    static final int STEPS = 200;

    @Test
    void trainingStepsDriveTheMaskedLmLossDown() throws Exception {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.PROSE, 1);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            docs.add(corpus.document(i));
        }
        TokenizerSpec spec = new TokenizerSpec(TokenizerType.WORDPIECE, 2000, true, 2);
        PreTokenizer pre = spec.preTokenizer();
        Map<String, Long> counts = new HashMap<>();
        docs.forEach(d -> pre.words(d).forEach(w -> counts.merge(w, 1L, Long::sum)));
        TrainedTokenizer trained = TokenizerTrainer.train(spec, counts);
        LmTokenizer tok =
                LmTokenizer.fromJson(trained.files().get(TrainedTokenizer.TOKENIZER_JSON));
        List<int[]> sequences = new ArrayList<>();
        for (String doc : docs) {
            List<Segment> sentences = new ArrayList<>();
            for (LmTokenizer.Encoded e : tok.encode(SentenceSplitter.split(doc))) {
                sentences.add(new Segment(e.ids(), e.wordStart()));
            }
            for (Segment chunk : SentencePacking.pack(sentences, T - 2).chunks()) {
                int[] ids = new int[chunk.length() + 2];
                ids[0] = 2;
                System.arraycopy(chunk.ids(), 0, ids, 1, chunk.length());
                ids[ids.length - 1] = 3;
                sequences.add(ids);
            }
        }
        int vocab = tok.vocabSize();
        Masker masker = new Masker(MaskingConfig.defaults(10), 4, vocab, tok.specialIds());
        ModelConfig config =
                ModelConfig.preset("bert-mini").withVocabSize(vocab).withMaxPositions(T);
        Engine engine = Engine.getEngine(Devices.ENGINE);
        try (NDManager manager = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            BertForPretraining model = BertForPretraining.initialize(config, manager, 7);
            Map<String, NDArray> params = model.parameters();
            params.values().forEach(p -> p.setRequiresGradient(true));
            AdamW adam = AdamW.withDefaults(manager, 0.01f);
            LearningRateSchedule lr =
                    new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1e-3, 50, STEPS);
            double[] losses = new double[STEPS];
            for (int step = 0; step < STEPS; step++) {
                long[] ids = new long[B * T];
                long[] mask = new long[B * T];
                long[] labels = new long[B * T];
                Arrays.fill(labels, -100);
                for (int r = 0; r < B; r++) {
                    int[] seq =
                            sequences.get(
                                    (int) Math.floorMod(Seeds.mix(3, step, r), sequences.size()));
                    boolean[] special = new boolean[seq.length];
                    for (int i = 0; i < seq.length; i++) {
                        special[i] = tok.isSpecial(seq[i]);
                    }
                    boolean[] starts = new boolean[seq.length];
                    Arrays.fill(starts, true);
                    Masker.Result m = masker.mask(seq, special, starts, Seeds.random(5, step, r));
                    for (int i = 0; i < seq.length; i++) {
                        ids[r * T + i] = m.inputIds()[i];
                        mask[r * T + i] = 1;
                        labels[r * T + i] = m.labels()[i];
                    }
                }
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray idArray = manager.create(ids, new Shape(B, T));
                    NDArray maskArray = manager.create(mask, new Shape(B, T));
                    NDArray labelArray = manager.create(labels, new Shape(B, T));
                    try (GradientCollector gc = engine.newGradientCollector()) {
                        NDArray loss =
                                model.loss(
                                        labelArray,
                                        null,
                                        BertInputs.of(idArray, maskArray, null),
                                        1f,
                                        1f,
                                        -100,
                                        Reduction.MEAN);
                        gc.backward(loss);
                        losses[step] = loss.getFloat();
                    }
                    List<NDArray> grads = new ArrayList<>();
                    params.values().forEach(p -> grads.add(p.getGradient()));
                    GradientClipping.clipGlobalNorm(grads, 1.0f);
                    float rate = (float) lr.at(step);
                    for (Map.Entry<String, NDArray> e : params.entrySet()) {
                        NDArray g = e.getValue().getGradient();
                        adam.update(e.getKey(), e.getValue(), g, rate);
                        g.muli(0);
                    }
                }
            }
            double first = Arrays.stream(losses, 0, 50).average().orElseThrow();
            double last = Arrays.stream(losses, STEPS - 50, STEPS).average().orElseThrow();
            assertTrue(last < first - 0.8, "loss " + first + " -> " + last + " (nats)");
            adam.close();
        }
    }
}
