package dev.lmspark.model.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW (Loshchilov & Hutter), computed exactly as {@code torch.optim.AdamW}: decoupled weight
 * decay {@code w ← w·(1 − lr·λ)}, then {@code m ← β1·m + (1−β1)·g}, {@code v ← β2·v + (1−β2)·g²},
 * {@code w ← w − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)}.
 *
 * <p>State (both moments and the step count) is keyed by parameter <em>name</em> and lives on the
 * optimizer's own manager, so {@link #stateDict()} / {@link #loadStateDict} move it between JVMs.
 * Parameters for which {@code decays} is false (by default biases and normalization weights: names
 * ending in {@code bias}, or containing {@code norm}) get no weight decay. Updates happen in place.
 */
public final class AdamW implements AutoCloseable {
    private final NDManager manager;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final Predicate<String> decays;
    private final Map<String, State> states = new LinkedHashMap<>();

    private static final class State {
        NDArray m;
        NDArray v;
        long step;
        // step as a scalar array for stateDict(), made on demand, dropped when the step moves on.
        NDArray stepArray;

        void close() {
            for (NDArray a : new NDArray[] {m, v, stepArray}) {
                if (a != null) {
                    a.close();
                }
            }
        }
    }

    /**
     * @param manager parent of the optimizer's own state manager
     * @param beta1 first-moment decay (0.9)
     * @param beta2 second-moment decay (0.999)
     * @param eps denominator term (1e-8)
     * @param weightDecay decoupled decay λ (0.01)
     * @param decays which parameter names get weight decay
     */
    public AdamW(
            NDManager manager,
            float beta1,
            float beta2,
            float eps,
            float weightDecay,
            Predicate<String> decays) {
        this.manager = manager.newSubManager();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decays = decays;
    }

    /** torch's defaults with weight decay {@code weightDecay}, none on biases and norm weights. */
    public static AdamW withDefaults(NDManager manager, float weightDecay) {
        return new AdamW(manager, 0.9f, 0.999f, 1e-8f, weightDecay, AdamW::decaysByDefault);
    }

    /** No decay for biases and normalization weights. */
    public static boolean decaysByDefault(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return !(n.endsWith("bias") || n.contains("norm"));
    }

    /** One step for one parameter: updates {@code weight} in place from {@code grad}. */
    public void update(String name, NDArray weight, NDArray grad, float lr) {
        State s =
                states.computeIfAbsent(
                        name,
                        k -> {
                            State n = new State();
                            n.m =
                                    manager.zeros(
                                            weight.getShape(),
                                            DataType.FLOAT32,
                                            weight.getDevice());
                            n.v =
                                    manager.zeros(
                                            weight.getShape(),
                                            DataType.FLOAT32,
                                            weight.getDevice());
                            // State outlives a training step's NDScope.
                            NDScope.unregister(n.m, n.v);
                            return n;
                        });
        s.step++;
        if (s.stepArray != null) {
            s.stepArray.close();
            s.stepArray = null;
        }
        boolean decay = decays.test(name) && weightDecay != 0;
        if (weight instanceof PtNDArray w
                && grad instanceof PtNDArray g
                && s.m instanceof PtNDArray m
                && s.v instanceof PtNDArray v
                && w.getDataType() == DataType.FLOAT32
                && g.getDataType() == DataType.FLOAT32) {
            fusedUpdate(s.step, w, g, m, v, lr, decay);
            return;
        }
        try (NDManager scope = weight.getManager().newSubManager()) {
            NDArray g = grad.toType(DataType.FLOAT32, true);
            g.attach(scope);
            if (decay) {
                weight.muli(1 - lr * weightDecay);
            }
            s.m.muli(beta1).addi(g.mul(1 - beta1));
            s.v.muli(beta2).addi(g.square().muli(1 - beta2));
            double bc1 = 1 - Math.pow(beta1, s.step);
            double bc2 = 1 - Math.pow(beta2, s.step);
            // Results of operations on the state arrays land on the optimizer's manager: move
            // every temporary into this step's scope, so nothing accumulates across steps.
            NDArray denom = s.v.sqrt();
            denom.attach(scope);
            denom.divi((float) Math.sqrt(bc2)).addi(eps);
            NDArray step = s.m.div(denom);
            step.attach(scope);
            step.muli((float) (lr / bc1));
            NDArray cast = step.toType(weight.getDataType(), false);
            cast.attach(scope);
            weight.subi(cast);
        }
    }

    /**
     * The same step in one native call (fp32 PyTorch arrays), no temporaries on the Java side:
     * libtorch's Adam kernel of the DJL binding computes {@code w ← w − lr·λ·w}, the two moments,
     * then {@code w ← w − c·m / (√v + ε′)}; with {@code c = lr·√bc2 / bc1} and {@code ε′ = ε·√bc2}
     * that is torch's {@code w − (lr / bc1)·m / (√v / √bc2 + ε)}. (The binding's NDArrayEx entry
     * point would also zero the weight's gradient; this one leaves it to the caller.)
     */
    private void fusedUpdate(
            long step,
            PtNDArray weight,
            PtNDArray grad,
            PtNDArray m,
            PtNDArray v,
            float lr,
            boolean decay) {
        double bc1 = 1 - Math.pow(beta1, step);
        double root = Math.sqrt(1 - Math.pow(beta2, step));
        JniUtils.adamUpdate(
                weight,
                grad,
                m,
                v,
                lr,
                (float) (lr * root / bc1),
                decay ? weightDecay : 0,
                1f, // no rescaling
                -1f, // no per-element clipping
                beta1,
                beta2,
                (float) (eps * root),
                true);
    }

    /**
     * The state by name: {@code <name>.exp_avg}, {@code <name>.exp_avg_sq}, {@code <name>.step} (an
     * int64 scalar). The arrays are the optimizer's own, valid until its next update or close: read
     * or write them, do not close them. Calling this repeatedly allocates nothing new until a step
     * has been taken (then one scalar per parameter replaces the previous one).
     */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        states.forEach(
                (name, s) -> {
                    if (s.stepArray == null) {
                        s.stepArray = manager.create(s.step);
                        NDScope.unregister(s.stepArray);
                    }
                    out.put(name + ".exp_avg", s.m);
                    out.put(name + ".exp_avg_sq", s.v);
                    out.put(name + ".step", s.stepArray);
                });
        return out;
    }

    /**
     * Restores what {@link #stateDict()} gave (copied onto this optimizer's manager); the state
     * held before is freed.
     */
    public void loadStateDict(Map<String, NDArray> dict) {
        Map<String, State> loaded = new LinkedHashMap<>();
        dict.forEach(
                (key, value) -> {
                    int dot = key.lastIndexOf('.');
                    String name = key.substring(0, dot);
                    State s = loaded.computeIfAbsent(name, k -> new State());
                    switch (key.substring(dot + 1)) {
                        case "exp_avg" -> s.m = value.duplicate();
                        case "exp_avg_sq" -> s.v = value.duplicate();
                        case "step" -> s.step = value.toType(DataType.INT64, false).getLong();
                        default ->
                                throw new IllegalArgumentException(
                                        "unknown optimizer state entry " + key);
                    }
                });
        loaded.values()
                .forEach(
                        s -> {
                            s.m.attach(manager);
                            s.v.attach(manager);
                            NDScope.unregister(s.m, s.v);
                        });
        // Copied before the old state is closed: dict may be this optimizer's own stateDict().
        states.values().forEach(State::close);
        states.clear();
        states.putAll(loaded);
    }

    @Override
    public void close() {
        manager.close();
    }
}
