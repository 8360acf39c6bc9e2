package dev.lmspark.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import dev.lmspark.model.loss.SmileLoss;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.BertInputs;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.model.task.MaskedLm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Everything autograd keeps between the forward and the backward pass is memory the engine owns.
 * DJL's {@code NDArray.mul(Number)} (and {@code div}, {@code pow}) wraps the number in an array
 * over a Java direct buffer and closes it at once; when the garbage collector frees that buffer
 * before the backward pass, the gradient reads freed memory. This test provokes exactly that:
 * between forward and backward it collects garbage and fills the freed native memory with NaN, then
 * checks that every gradient equals the undisturbed one. (With the loss weights written as {@code
 * loss.mul(weight)}, the BERT case fails here with NaN gradients.)
 */
class AutogradMemoryTest {
    static final int B = 2;
    static final int T = 12;
    static final int V = 64;

    /** The gradients of {@code params} after backward of {@code loss}, disturbed or not. */
    static Map<String, float[]> gradients(
            Map<String, NDArray> params, Function<NDManager, NDArray> loss, boolean disturb)
            throws InterruptedException {
        Map<String, float[]> out = new LinkedHashMap<>();
        NDManager any = params.values().iterator().next().getManager();
        try (NDManager step = any.newSubManager();
                GradientCollector gc = Devices.engine().newGradientCollector()) {
            NDArray value = loss.apply(step);
            List<ByteBuffer> spray = disturb ? overwriteFreedMemory() : List.of();
            gc.backward(value);
            assertEquals(disturb ? 60_000 : 0, spray.size()); // the NaN blocks lived until here
        }
        params.forEach(
                (name, p) -> {
                    NDArray g = p.getGradient();
                    out.put(name, g.toFloatArray());
                    g.muli(0);
                });
        return out;
    }

    /** Frees what the collector can and fills freed small blocks with NaN (kept alive). */
    static List<ByteBuffer> overwriteFreedMemory() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(30);
        }
        List<ByteBuffer> spray = new ArrayList<>();
        for (int size : new int[] {4, 8, 16}) {
            for (int i = 0; i < 20_000; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
                for (int j = 0; j < size; j += 4) {
                    b.putFloat(j, Float.NaN);
                }
                spray.add(b);
            }
        }
        return spray;
    }

    static void assertUndisturbed(Map<String, NDArray> params, Function<NDManager, NDArray> loss)
            throws Exception {
        params.values().forEach(p -> p.setRequiresGradient(true));
        Map<String, float[]> clean = gradients(params, loss, false);
        Map<String, float[]> disturbed = gradients(params, loss, true);
        clean.forEach(
                (name, g) -> {
                    for (float v : g) {
                        assertTrue(Float.isFinite(v), name + " has a non-finite gradient");
                    }
                    assertArrayEquals(g, disturbed.get(name), name);
                });
    }

    static NDArray ids(NDManager m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] ids = new long[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 5 + r.nextInt(V - 5);
        }
        return m.create(ids, new Shape(B, T));
    }

    static NDArray labels(NDManager m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] labels = new long[B * T];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 3 == 1 ? 5 + r.nextInt(V - 5) : -100;
        }
        return m.create(labels, new Shape(B, T));
    }

    static NDArray mask(NDManager m) {
        long[] mask = new long[B * T];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = i % T < T - 3 * (i / T) ? 1 : 0;
        }
        return m.create(mask, new Shape(B, T));
    }

    @Test
    void bertPretrainingLossWithWeightsAndDropout() throws Exception {
        ModelConfig c = ModelConfig.preset("bert-tiny").withVocabSize(V).withMaxPositions(T);
        try (NDManager m = NDManager.newBaseManager(Devices.ENGINE)) {
            BertForPretraining model = BertForPretraining.initialize(c, m, 1);
            assertUndisturbed(
                    model.parameters(),
                    s ->
                            model.loss(
                                    labels(s, 2),
                                    s.create(new long[] {0, 1}),
                                    BertInputs.of(ids(s, 3), mask(s), null),
                                    0.7f,
                                    0.3f,
                                    -100,
                                    Reduction.MEAN,
                                    new SplittableRandom(4)));
        }
    }

    @Test
    void llamaCausalLossAndSmile() throws Exception {
        ModelConfig c = ModelConfig.preset("llama-tiny").withVocabSize(V).withMaxPositions(T);
        try (NDManager m = NDManager.newBaseManager(Devices.ENGINE)) {
            CausalLm model = CausalLm.initialize(c, m, 1);
            assertUndisturbed(
                    model.parameters(),
                    s -> model.loss(model.forward(ids(s, 5), mask(s), null), ids(s, 5)));
            assertUndisturbed(
                    model.parameters(),
                    s ->
                            SmileLoss.subset()
                                    .compute(
                                            model.forward(ids(s, 6), mask(s), null),
                                            labels(s, 7),
                                            3));
        }
    }

    @Test
    void rotaryMaskedLmLoss() throws Exception {
        ModelConfig p = ModelConfig.preset("rotary-mlm-small");
        ModelConfig c =
                new ModelConfig(
                        p.architecture(),
                        V,
                        32,
                        2,
                        2,
                        64,
                        T,
                        p.positions(),
                        p.typeVocabSize(),
                        p.causal(),
                        p.preNorm(),
                        p.norm(),
                        p.normEps(),
                        p.mlp(),
                        p.bias(),
                        0.1,
                        p.ropeTheta(),
                        p.tieWordEmbeddings(),
                        p.initializerRange());
        try (NDManager m = NDManager.newBaseManager(Devices.ENGINE)) {
            MaskedLm model = MaskedLm.initialize(c, m, 1);
            assertUndisturbed(
                    model.parameters(),
                    s ->
                            model.mlmLoss(
                                    ids(s, 8),
                                    mask(s),
                                    null,
                                    labels(s, 9),
                                    -100,
                                    Reduction.MEAN,
                                    new SplittableRandom(10)));
        }
    }
}
