package dev.lmspark.train;

import java.util.List;

/**
 * The driver's step from the workers' updates to the next global parameters (DiLoCo's outer
 * optimizer, Douillard et al. 2023). The workers' deltas (end − start of a round) are combined in
 * the fixed order of worker ids, weighted by the tokens each trained on, into Δ in float64 and
 * rounded once to float32; then
 *
 * <ul>
 *   <li>{@code average}: θ ← θ + Δ (plain parameter averaging, as Deeplearning4j's
 *       ParameterAveragingTrainingMaster);
 *   <li>{@code nesterov}: with the outer gradient g = −Δ, {@code m ← μ·m + g}, θ ← θ − η·(g + μ·m)
 *       ({@code torch.optim.SGD(nesterov=True)}, as DiLoCo), η = {@code --outer-lr}, μ = {@code
 *       --outer-momentum}; m starts at 0 and is checkpointed.
 * </ul>
 *
 * Every operation runs in a fixed order on the driver, so the result is bitwise reproducible.
 */
public final class OuterOptimizer {
    /** The optimizer kind recorded in {@code optimizer.safetensors}. */
    public static final String AVERAGE = "average";

    public static final String NESTEROV = "nesterov";

    private final String kind;
    private final float lr;
    private final float momentum;
    private Parameters buffer;

    /**
     * @param kind {@value #AVERAGE} or {@value #NESTEROV}
     * @param lr the outer learning rate (nesterov)
     * @param momentum the outer momentum (nesterov)
     */
    public OuterOptimizer(String kind, double lr, double momentum) {
        this.kind = kind;
        this.lr = (float) lr;
        this.momentum = (float) momentum;
    }

    /** The kind. */
    public String kind() {
        return kind;
    }

    /** Nesterov's momentum buffer, or null (average, or before the first step). */
    public Parameters momentumBuffer() {
        return buffer;
    }

    /** Restores a checkpointed momentum buffer. */
    public void setMomentumBuffer(Parameters buffer) {
        this.buffer = buffer;
    }

    /**
     * The token-weighted sum of {@code deltas} (in worker order): Σ (tokens_w / Σ tokens) · Δ_w,
     * accumulated in float64 per element, rounded once.
     */
    public static float[][] weightedSum(List<Parameters> deltas, long[] tokens) {
        long total = 0;
        for (long t : tokens) {
            total += t;
        }
        double[] weight = new double[tokens.length];
        for (int w = 0; w < tokens.length; w++) {
            weight[w] = total == 0 ? 1.0 / tokens.length : (double) tokens[w] / total;
        }
        Parameters first = deltas.get(0);
        float[][] out = new float[first.size()][];
        for (int i = 0; i < first.size(); i++) {
            int n = first.values(i).length;
            float[] sum = new float[n];
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int w = 0; w < deltas.size(); w++) {
                    s += weight[w] * deltas.get(w).values(i)[j];
                }
                sum[j] = (float) s;
            }
            out[i] = sum;
        }
        return out;
    }

    /** The next global parameters from the current ones and the combined delta. */
    public Parameters step(Parameters global, float[][] delta) {
        float[][] next = new float[global.size()][];
        if (kind.equals(AVERAGE)) {
            for (int i = 0; i < next.length; i++) {
                float[] theta = global.values(i);
                float[] d = delta[i];
                float[] out = new float[theta.length];
                for (int j = 0; j < out.length; j++) {
                    out[j] = theta[j] + d[j];
                }
                next[i] = out;
            }
            return global.withValues(next);
        }
        if (buffer == null) {
            buffer = Parameters.zerosLike(global);
        }
        for (int i = 0; i < next.length; i++) {
            float[] theta = global.values(i);
            float[] d = delta[i];
            float[] m = buffer.values(i);
            float[] out = new float[theta.length];
            for (int j = 0; j < out.length; j++) {
                float g = -d[j];
                m[j] = momentum * m[j] + g;
                out[j] = theta[j] - lr * (g + momentum * m[j]);
            }
            next[i] = out;
        }
        return global.withValues(next);
    }
}
