package dev.lmspark.model.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.lmspark.model.nn.Functional;
import dev.lmspark.model.nn.Precision;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Mixed-precision training without autocast (the engine binding has none): the forward and backward
 * passes run on <em>working copies</em> of the parameters in the compute precision, while the
 * optimizer updates float32 <em>master weights</em> (Micikevicius et al., "Mixed Precision
 * Training", 2018). Each {@link #step} casts the working copies' gradients to float32, clips them
 * by their global norm, lets {@link AdamW} update the masters (its moments are float32 too), and
 * casts the masters into fresh working copies. With {@link Precision#FP32} the working copies are
 * the masters themselves and a step is clip, update, zero the gradients.
 *
 * <p>A training step builds the model on {@link #working()} (e.g. {@code new ModelWeights(config,
 * mp.working()).toBertForPretraining()}, cheap: no arrays are copied), computes the loss under a
 * {@code GradientCollector}, runs backward, and calls {@link #step}. Checkpoints take the masters
 * (the model built on them, or {@link #masters()}), which stay float32. bfloat16 has float32's
 * exponent range, so no loss scaling is needed. Gradients accumulated over several backward passes
 * before a step add up in the compute precision.
 *
 * <p>The cost: a bfloat16 copy of every parameter per step (and its float32 gradient copy), on top
 * of the float32 masters and moments.
 */
public final class MixedPrecision implements AutoCloseable {
    private final Precision precision;
    private final Map<String, NDArray> masters;
    private final Map<String, NDArray> working = new LinkedHashMap<>();
    private final NDManager manager;

    /**
     * @param precision the compute precision
     * @param masters the float32 master weights by name (a model's live parameters), updated in
     *     place by {@link #step}
     * @param manager parent of the manager that holds the working copies
     * @throws IllegalArgumentException naming a master weight that is not float32
     */
    public MixedPrecision(Precision precision, Map<String, NDArray> masters, NDManager manager) {
        masters.forEach(
                (name, a) -> {
                    if (Functional.dataType(a) != DataType.FLOAT32) {
                        throw new IllegalArgumentException(
                                "master weight "
                                        + name
                                        + " is "
                                        + Functional.dataType(a)
                                        + "; master weights must be float32");
                    }
                });
        this.precision = precision;
        this.masters = masters;
        this.manager = manager.newSubManager();
        if (precision == Precision.FP32) {
            working.putAll(masters);
            working.values().forEach(a -> a.setRequiresGradient(true));
        } else {
            refresh();
        }
    }

    /** The compute precision. */
    public Precision precision() {
        return precision;
    }

    /** The float32 master weights by name (the arrays given to the constructor), read-only map. */
    public Map<String, NDArray> masters() {
        return Collections.unmodifiableMap(masters);
    }

    /**
     * The working copies by name, in the compute precision and recording gradients: the arrays to
     * compute with. Valid until the next {@link #step} (which replaces them in bfloat16) or close.
     */
    public Map<String, NDArray> working() {
        return Collections.unmodifiableMap(working);
    }

    /**
     * One optimizer step from the gradients of the working copies: float32 gradients, clipped to a
     * global norm of {@code maxNorm}, update the masters through {@code optimizer}; then the
     * working copies are refreshed from the masters with no gradient.
     *
     * @param maxNorm the global-norm bound; {@code Float.POSITIVE_INFINITY} for no clipping
     * @return the global gradient norm before clipping
     */
    public float step(AdamW optimizer, float lr, float maxNorm) {
        float norm;
        try (NDManager scratch = manager.newSubManager()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            working.forEach(
                    (name, w) -> {
                        // A wrapper of the gradient (its storage stays with w); freed with scratch.
                        NDArray g = w.getGradient();
                        g.attach(scratch);
                        if (Functional.dataType(g) != DataType.FLOAT32) {
                            g = g.toType(DataType.FLOAT32, false);
                            g.attach(scratch);
                        }
                        grads.put(name, g);
                    });
            norm = GradientClipping.clipGlobalNorm(grads.values(), maxNorm);
            grads.forEach((name, g) -> optimizer.update(name, masters.get(name), g, lr));
            if (precision == Precision.FP32) {
                working.values().forEach(MixedPrecision::zeroGradient);
            }
        }
        if (precision != Precision.FP32) {
            refresh();
        }
        return norm;
    }

    private static void zeroGradient(NDArray a) {
        if (a instanceof PtNDArray p) {
            JniUtils.zeroGrad(p);
        } else {
            a.getGradient().muli(0);
        }
    }

    /** Working copies cast from the masters, replacing (and freeing) the previous ones. */
    private void refresh() {
        masters.forEach(
                (name, master) -> {
                    NDArray copy = Functional.cast(master.stopGradient(), precision.dataType());
                    copy.attach(manager);
                    // Working copies outlive the step's NDScope they may be made in.
                    NDScope.unregister(copy);
                    copy.setRequiresGradient(true);
                    NDArray old = working.put(name, copy);
                    if (old != null) {
                        old.close();
                    }
                });
    }

    /** Frees the working copies (not the masters). */
    @Override
    public void close() {
        manager.close();
    }
}
