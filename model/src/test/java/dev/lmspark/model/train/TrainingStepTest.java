package dev.lmspark.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Precision;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.MaskedLm;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The shared training core: each task's {@link PretrainingTask#loss} equals the task's own
 * fixture-tested loss; gradient accumulation averages micro-batches; every loss and bf16 train;
 * evaluation sums agree with the mean losses.
 */
class TrainingStepTest {
    static final int T = 16;
    static final int V = 64;

    /** Rows of random ids; MLM labels at every third real position, NSP labels alternating. */
    static ShardBatch batch(int rows, long seed, boolean mlm, boolean padded) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[rows * T];
        byte[] mask = new byte[rows * T];
        byte[] types = new byte[rows * T];
        int[] labels = new int[rows * T];
        byte[] nsp = new byte[rows];
        Arrays.fill(labels, ShardBatch.IGNORE);
        for (int b = 0; b < rows; b++) {
            int real = padded ? T - 1 - b % 5 : T;
            for (int t = 0; t < T; t++) {
                int at = b * T + t;
                if (t >= real) {
                    continue;
                }
                ids[at] = 5 + r.nextInt(V - 5);
                mask[at] = 1;
                types[at] = (byte) (t >= real / 2 ? 1 : 0);
                if (!mlm) {
                    labels[at] = ids[at];
                } else if (t % 3 == 1) {
                    labels[at] = ids[at];
                    ids[at] = 4;
                }
            }
            nsp[b] = (byte) (b % 2);
        }
        return new ShardBatch(rows, T, ids, mask, mlm ? types : null, labels, mlm ? nsp : null);
    }

    static ModelConfig config(String preset) {
        return ModelConfig.preset(preset).withVocabSize(V).withMaxPositions(T);
    }

    @Test
    void eachTasksLossIsItsOwnFixtureTestedLoss() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
                NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            ShardBatch mlm = batch(4, 1, true, true);
            ShardBatch clm = batch(4, 2, false, true);
            BertForPretraining bert = BertForPretraining.initialize(config("bert-tiny"), m, 3);
            TaskLoss l = bert.loss(mlm, TrainingLoss.mle(), 0, null);
            NDArray expected =
                    bert.loss(
                            mlm.labels(m),
                            mlm.nextSentenceLabels(m),
                            BertInputs.of(
                                    mlm.inputIds(m), mlm.attentionMask(m), mlm.tokenTypeIds(m)),
                            1f,
                            1f,
                            -100,
                            Reduction.MEAN);
            assertEquals(expected.getFloat(), l.total().getFloat(), 1e-6);
            assertEquals(
                    List.of("mlm", "nsp"), l.terms().stream().map(TaskLoss.Term::name).toList());
            assertEquals(mlm.predicted(), l.terms().get(0).count());

            MaskedLm rotary = MaskedLm.initialize(config("rotary-mlm-small"), m, 3);
            assertEquals(
                    rotary.mlmLoss(
                                    mlm.inputIds(m),
                                    mlm.attentionMask(m),
                                    null,
                                    mlm.labels(m),
                                    -100,
                                    Reduction.MEAN)
                            .getFloat(),
                    rotary.loss(mlm, TrainingLoss.mle(), 0, null).total().getFloat(),
                    1e-6);

            for (String preset : List.of("llama-tiny", "bert-tiny")) {
                CausalLm causal = CausalLm.initialize(config(preset).withCausal(true), m, 3);
                NDArray logits = causal.forward(clm.inputIds(m), clm.attentionMask(m), null);
                assertEquals(
                        causal.loss(logits, clm.labels(m)).getFloat(),
                        causal.loss(clm, TrainingLoss.mle(), 0, null).total().getFloat(),
                        1e-6,
                        preset);
            }
        }
    }

    @Test
    void evaluationSumsAreTheMeanLossTimesTheCount() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
                NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            ShardBatch mlm = batch(4, 5, true, true);
            BertForPretraining bert = BertForPretraining.initialize(config("bert-tiny"), m, 3);
            TaskLoss l = bert.loss(mlm, TrainingLoss.mle(), 0, null);
            List<EvalSums> sums = bert.evaluate(mlm);
            for (int i = 0; i < 2; i++) {
                assertEquals(l.terms().get(i).name(), sums.get(i).name());
                assertEquals(l.terms().get(i).count(), sums.get(i).count());
                assertEquals(l.terms().get(i).mean().getFloat(), sums.get(i).meanLoss(), 1e-5);
                assertTrue(sums.get(i).accuracy() >= 0 && sums.get(i).accuracy() <= 1);
            }
            ShardBatch clm = batch(3, 6, false, true);
            CausalLm llama = CausalLm.initialize(config("llama-tiny"), m, 3);
            EvalSums c = llama.evaluate(clm).get(0);
            assertEquals(
                    llama.loss(clm, TrainingLoss.mle(), 0, null).total().getFloat(),
                    c.meanLoss(),
                    1e-5);
            long next = 0;
            for (int b = 0; b < 3; b++) {
                for (int t = 1; t < T; t++) {
                    next += clm.labels()[b * T + t] != ShardBatch.IGNORE ? 1 : 0;
                }
            }
            assertEquals(next, c.count(), "predicted next tokens");
        }
    }

    /** Parameters after {@code steps} steps of {@code micro} micro-batches each. */
    static Map<String, float[]> trained(List<List<ShardBatch>> steps, Precision precision) {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            CausalLm model = CausalLm.initialize(config("llama-tiny"), m, 9);
            try (TrainingStep step =
                    TrainingStep.builder()
                            .setModel(model)
                            .setSchedule(
                                    new LearningRateSchedule(
                                            LearningRateSchedule.Kind.CONSTANT, 1e-2, 0, 10))
                            .optPrecision(precision)
                            // eps 1 and no decay or clipping: the step is ≈ lr·g, linear in
                            // the gradient, so it shows any difference between gradients.
                            .optEps(1f)
                            .optWeightDecay(0)
                            .optClipNorm(0)
                            .build(m)) {
                for (int s = 0; s < steps.size(); s++) {
                    step.step(steps.get(s), s, null);
                }
            }
            Map<String, float[]> out = new java.util.LinkedHashMap<>();
            model.parameters().forEach((k, v) -> out.put(k, v.toFloatArray()));
            return out;
        }
    }

    @Test
    void accumulatingTwoHalfBatchesIsOneStepOnTheWholeBatch() {
        ShardBatch whole = batch(4, 11, false, false);
        Map<String, float[]> one = trained(List.of(List.of(whole)), Precision.FP32);
        Map<String, float[]> two =
                trained(List.of(List.of(whole.slice(0, 2), whole.slice(2, 4))), Precision.FP32);
        one.forEach(
                (name, a) -> {
                    float[] b = two.get(name);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i], b[i], 1e-7, name);
                    }
                });
    }

    /** Losses of 25 steps on one batch with {@code loss}, bert-tiny MLM + NSP. */
    static float[] losses(TrainingLoss loss, Precision precision, long dropoutSeed) {
        ShardBatch b = batch(8, 21, true, true);
        float[] out = new float[25];
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            BertForPretraining model = BertForPretraining.initialize(config("bert-tiny"), m, 5);
            try (TrainingStep step =
                    TrainingStep.builder()
                            .setModel(model)
                            .setSchedule(
                                    new LearningRateSchedule(
                                            LearningRateSchedule.Kind.LINEAR, 3e-3, 3, 25))
                            .optLoss(loss)
                            .optPrecision(precision)
                            .build(m)) {
                for (int s = 0; s < out.length; s++) {
                    out[s] = (float) step.step(List.of(b), s, Seeds.random(dropoutSeed, s)).loss();
                }
            }
            model.parameters()
                    .forEach((k, v) -> assertEquals(DataType.FLOAT32, v.getDataType(), k));
        }
        return out;
    }

    @Test
    void everyLossAndBf16TrainAndTheSameSeedRepeatsTheTrajectory() {
        for (TrainingLoss.Kind k : TrainingLoss.Kind.values()) {
            float[] l = losses(new TrainingLoss(k, 3), Precision.FP32, 1);
            assertTrue(l[24] < l[0] - 0.5, k + ": " + Arrays.toString(l));
        }
        float[] fp32 = losses(TrainingLoss.mle(), Precision.FP32, 1);
        assertArrayEquals(fp32, losses(TrainingLoss.mle(), Precision.FP32, 1));
        float[] bf16 = losses(TrainingLoss.mle(), Precision.BF16, 1);
        assertEquals(fp32[0], bf16[0], 0.05, "bf16 starts where fp32 does");
        assertTrue(bf16[24] < bf16[0] - 0.5, Arrays.toString(bf16));
    }
}
