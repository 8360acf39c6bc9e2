package dev.lmspark.model.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.nn.Functional;
import dev.lmspark.model.nn.Precision;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.CausalLm;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bfloat16 mixed precision on CPU: logits close to float32's, a short training run that follows the
 * float32 run with float32 master weights and optimizer state, no NaN from fully masked rows, and
 * float32 checkpoints.
 */
class MixedPrecisionTest {
    static final int V = 97;
    static final int B = 4;
    static final int T = 16;
    static final int PAD = 5; // the last row is padded by this many positions
    static final int STEPS = 20;

    static final ModelConfig BERT = ModelConfig.preset("bert-tiny").withVocabSize(V);
    static final ModelConfig LLAMA = ModelConfig.preset("llama-tiny").withVocabSize(V);

    /** ‖a − b‖ / ‖b‖ over all elements. */
    static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (double) (a[i] - b[i]) * (a[i] - b[i]);
            norm += (double) b[i] * b[i];
        }
        return Math.sqrt(diff / norm);
    }

    /** Token ids (B, T) drawn from seed 11, ids 5… (0–4 are left to special tokens). */
    static NDArray ids(NDManager m) {
        SplittableRandom random = new SplittableRandom(11);
        long[] ids = new long[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 5 + random.nextInt(V - 5);
        }
        return m.create(ids, new Shape(B, T));
    }

    /** Attention mask (B, T): the last row right-padded by {@link #PAD} (left-padded if left). */
    static NDArray mask(NDManager m, boolean left) {
        long[] mask = new long[B * T];
        for (int i = 0; i < mask.length; i++) {
            int row = i / T;
            int col = i % T;
            boolean padded = row == B - 1 && (left ? col < PAD : col >= T - PAD);
            mask[i] = padded ? 0 : 1;
        }
        return m.create(mask, new Shape(B, T));
    }

    /** Logits (B, T, V) of the model on {@code parameters}, as float32 values. */
    static float[] logits(
            ModelConfig c, Map<String, NDArray> parameters, NDArray ids, NDArray mask) {
        ModelWeights w = new ModelWeights(c, parameters);
        NDArray logits =
                c.causal()
                        ? w.toCausalLm().forward(ids, mask, null)
                        : w.toBertForPretraining()
                                .forward(BertInputs.of(ids, mask, null))
                                .predictionScores();
        DataType expected = Functional.dataType(parameters.values().iterator().next());
        assertEquals(expected, Functional.dataType(logits), "the logits' type is the parameters'");
        return logits.toType(DataType.FLOAT32, false).toFloatArray();
    }

    static ModelWeights initialize(ModelConfig c, NDManager m) {
        return c.causal()
                ? ModelWeights.of(CausalLm.initialize(c, m, 3))
                : ModelWeights.of(BertForPretraining.initialize(c, m, 3));
    }

    @Test
    void bf16LogitsOfBertAreCloseToFp32() {
        checkLogits(BERT, false);
    }

    @Test
    void bf16LogitsOfLlamaAreCloseToFp32() {
        checkLogits(LLAMA, true);
    }

    private static void checkLogits(ModelConfig c, boolean leftPadding) {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Map<String, NDArray> masters = initialize(c, m).parameters();
            NDArray ids = ids(m);
            NDArray mask = mask(m, leftPadding);
            float[] fp32 = logits(c, masters, ids, mask);
            try (MixedPrecision mp = new MixedPrecision(Precision.BF16, masters, m)) {
                float[] bf16 = logits(c, mp.working(), ids, mask);
                double error = relativeError(bf16, fp32);
                System.out.printf(
                        "%s bf16 vs fp32 logits: relative error %.2e%n", c.architecture(), error);
                // bfloat16 rounds to 2⁻⁹ ≈ 2e-3 relative; a few layers of it stay near 1e-2.
                assertTrue(error < 2e-2, "relative error " + error);
                assertTrue(error > 0, "the bf16 logits must come from a bf16 computation");
            }
        }
    }

    @Test
    void bf16LayerNormIsAsAccurateAsBf16Rounding() {
        // Activations far from zero mean (offset 8) are where a LayerNorm whose statistics were
        // accumulated in bfloat16 would lose digits. The engine's CPU kernel accumulates in
        // float32:
        // on the same (bfloat16) inputs its error is that of rounding the float32 result, so the
        // trunk needs no float32 LayerNorm of its own.
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            m.getEngine().setRandomSeed(5);
            DataType bf16 = DataType.BFLOAT16;
            NDArray x = Functional.cast(m.randomNormal(new Shape(16, 256)).add(8f), bf16);
            NDArray w =
                    Functional.cast(
                            m.randomNormal(1f, 0.1f, new Shape(256), DataType.FLOAT32), bf16);
            NDArray b =
                    Functional.cast(
                            m.randomNormal(0f, 0.1f, new Shape(256), DataType.FLOAT32), bf16);
            NDArray exact =
                    Functional.layerNorm(
                            x.toType(DataType.FLOAT32, false),
                            w.toType(DataType.FLOAT32, false),
                            b.toType(DataType.FLOAT32, false),
                            1e-12);
            float[] rounded =
                    Functional.cast(exact, bf16).toType(DataType.FLOAT32, false).toFloatArray();
            float[] half =
                    Functional.layerNorm(x, w, b, 1e-12)
                            .toType(DataType.FLOAT32, false)
                            .toFloatArray();
            double roundingError = relativeError(rounded, exact.toFloatArray());
            double error = relativeError(half, exact.toFloatArray());
            System.out.printf(
                    "bf16 layer_norm relative error %.2e (rounding the fp32 result alone %.2e)%n",
                    error, roundingError);
            assertTrue(error < 2 * roundingError, error + " vs " + roundingError);
        }
    }

    @Test
    void bf16TrainingOfBertFollowsFp32() {
        checkTraining(BERT);
    }

    @Test
    void bf16TrainingOfLlamaFollowsFp32() {
        checkTraining(LLAMA);
    }

    private static void checkTraining(ModelConfig c) {
        float[] fp32 = train(c, Precision.FP32, STEPS, null);
        float[] bf16 = train(c, Precision.BF16, STEPS, null);
        System.out.printf(
                "%s loss over %d steps: fp32 %.4f -> %.4f, bf16 %.4f -> %.4f%n",
                c.architecture(), STEPS, fp32[0], fp32[STEPS - 1], bf16[0], bf16[STEPS - 1]);
        assertEquals(fp32[0], bf16[0], 0.02, "the initial losses");
        assertTrue(
                fp32[STEPS - 1] < fp32[0] / 2,
                "fp32 learns: " + fp32[0] + " -> " + fp32[STEPS - 1]);
        assertTrue(
                bf16[STEPS - 1] < bf16[0] / 2,
                "bf16 learns: " + bf16[0] + " -> " + bf16[STEPS - 1]);
        assertEquals(
                fp32[STEPS - 1],
                bf16[STEPS - 1],
                0.1 + 0.1 * fp32[STEPS - 1],
                "bf16 ends where fp32 does");
    }

    /**
     * Losses of {@code steps} AdamW steps (lr 3e-3, clip 1) on one fixed batch: MLM with every
     * fourth position masked (id 4), or next-token prediction. Checks on the way that the loss is
     * float32, the masters and the optimizer state stay float32, and the working copies are in the
     * compute precision; the model and optimizer state are checkpointed to {@code checkpoint} when
     * given.
     */
    static float[] train(ModelConfig c, Precision precision, int steps, Path checkpoint) {
        Engine engine = Engine.getEngine(Devices.ENGINE);
        float[] losses = new float[steps];
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
                AdamW adam = AdamW.withDefaults(m, 0.01f)) {
            Map<String, NDArray> masters = initialize(c, m).parameters();
            NDArray ids = ids(m);
            NDArray mask = mask(m, c.causal());
            long[] input = ids.toLongArray();
            long[] labels = new long[input.length];
            for (int i = 0; i < input.length; i++) {
                boolean predicted = i % 4 == 1 && mask.toLongArray()[i] == 1;
                labels[i] = predicted ? input[i] : -100;
                input[i] = predicted ? 4 : input[i];
            }
            NDArray masked = m.create(input, new Shape(B, T));
            NDArray mlmLabels = m.create(labels, new Shape(B, T));
            try (MixedPrecision mp = new MixedPrecision(precision, masters, m)) {
                for (int step = 0; step < steps; step++) {
                    try (NDScope scope = new NDScope()) {
                        scope.suppressNotUsedWarning();
                        ModelWeights w = new ModelWeights(c, mp.working());
                        try (GradientCollector gc = engine.newGradientCollector()) {
                            NDArray loss;
                            if (c.causal()) {
                                CausalLm model = w.toCausalLm();
                                loss = model.loss(model.forward(ids, mask, null), ids);
                            } else {
                                loss =
                                        w.toBertForPretraining()
                                                .loss(
                                                        mlmLabels,
                                                        null,
                                                        BertInputs.of(masked, mask, null),
                                                        1f,
                                                        1f,
                                                        -100,
                                                        Reduction.MEAN);
                            }
                            assertEquals(DataType.FLOAT32, loss.getDataType());
                            gc.backward(loss);
                            losses[step] = loss.getFloat();
                        }
                        mp.step(adam, 3e-3f, 1f);
                    }
                }
                mp.working()
                        .forEach(
                                (n, a) ->
                                        assertEquals(
                                                precision.dataType(),
                                                Functional.dataType(a),
                                                "working " + n));
                masters.forEach(
                        (n, a) -> assertEquals(DataType.FLOAT32, a.getDataType(), "master " + n));
                adam.stateDict()
                        .forEach(
                                (n, a) ->
                                        assertEquals(
                                                n.endsWith(".step")
                                                        ? DataType.INT64
                                                        : DataType.FLOAT32,
                                                a.getDataType(),
                                                "optimizer state " + n));
                if (precision == Precision.BF16) {
                    // The masters keep updates finer than bfloat16 resolves.
                    NDArray w = masters.get("layers.0.attention.query.weight");
                    NDArray rounded =
                            Functional.cast(w, DataType.BFLOAT16).toType(DataType.FLOAT32, false);
                    assertTrue(w.sub(rounded).abs().max().getFloat() > 0);
                }
                if (checkpoint != null) {
                    save(c, mp, adam, checkpoint);
                }
            }
        }
        return losses;
    }

    private static void save(ModelConfig c, MixedPrecision mp, AdamW adam, Path dir) {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            ModelCheckpoint.write(
                    new ModelWeights(c, mp.masters()), dev.lmspark.model.io.OutputFolder.of(dir));
            ModelWeights back = ModelCheckpoint.read(InputFolder.of(dir), m);
            back.parameters()
                    .forEach(
                            (n, a) -> {
                                assertEquals(DataType.FLOAT32, a.getDataType(), n);
                                assertArrayEquals(
                                        mp.masters().get(n).toFloatArray(), a.toFloatArray(), n);
                            });
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            OptimizerCheckpoint.write(adam, bytes);
            Map<String, NDArray> state =
                    OptimizerCheckpoint.read(
                            OptimizerCheckpoint.ADAMW,
                            new ByteArrayInputStream(bytes.toByteArray()),
                            m);
            assertEquals(adam.stateDict().keySet(), state.keySet());
            state.forEach(
                    (n, a) -> {
                        if (!n.endsWith(".step")) {
                            assertEquals(DataType.FLOAT32, a.getDataType(), n);
                        }
                    });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aBf16RunCheckpointsFloat32Masters(@TempDir Path dir) {
        train(BERT, Precision.BF16, 3, dir);
    }

    @Test
    void fullyMaskedRowsGiveNoNaNInBf16() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            for (ModelConfig c : new ModelConfig[] {BERT, LLAMA}) {
                Map<String, NDArray> masters = initialize(c, m).parameters();
                NDArray ids = ids(m);
                // Row 0 all padding (every query of it sees no key); the last row left-padded
                // (in a causal model its first queries see only padding).
                long[] mask = mask(m, true).toLongArray();
                for (int i = 0; i < T; i++) {
                    mask[i] = 0;
                }
                NDArray maskArray = m.create(mask, new Shape(B, T));
                try (MixedPrecision mp = new MixedPrecision(Precision.BF16, masters, m)) {
                    float[] logits = logits(c, mp.working(), ids, maskArray);
                    for (int i = 0; i < logits.length; i++) {
                        assertTrue(
                                Float.isFinite(logits[i]),
                                c.architecture() + " logit " + i + " is " + logits[i]);
                    }
                }
            }
        }
    }

    @Test
    void mastersMustBeFloat32AndTheFlagParses() {
        try (NDManager m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            Map<String, NDArray> half =
                    Map.of("w", Functional.cast(m.ones(new Shape(2)), DataType.BFLOAT16));
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> new MixedPrecision(Precision.BF16, half, m));
            assertTrue(e.getMessage().contains("master weight w"), e.getMessage());
        }
        assertEquals(Precision.BF16, Precision.parse("bf16"));
        assertEquals(Precision.FP32, Precision.parse("FP32"));
        assertEquals("bf16", Precision.BF16.flag());
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
    }
}
