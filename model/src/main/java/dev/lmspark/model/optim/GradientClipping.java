package dev.lmspark.model.optim;

import ai.djl.ndarray.NDArray;
import java.util.Collection;

/** Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradientClipping {
    private GradientClipping() {}

    /**
     * Scales every gradient by {@code min(1, maxNorm / (‖g‖ + 1e-6))}, where ‖g‖ is the L2 norm of
     * all gradients together, in place.
     *
     * @return ‖g‖ before clipping
     */
    public static float clipGlobalNorm(Collection<NDArray> grads, float maxNorm) {
        double squares = 0;
        for (NDArray g : grads) {
            squares += g.square().sum().getFloat();
        }
        float norm = (float) Math.sqrt(squares);
        float coefficient = (float) (maxNorm / (norm + 1e-6));
        if (coefficient < 1) {
            for (NDArray g : grads) {
                g.muli(coefficient);
            }
        }
        return norm;
    }
}
