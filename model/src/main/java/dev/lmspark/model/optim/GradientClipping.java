package dev.lmspark.model.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
        float norm = globalNorm(grads);
        float coefficient = (float) (maxNorm / (norm + 1e-6));
        if (coefficient < 1) {
            for (NDArray g : grads) {
                g.muli(coefficient);
            }
        }
        return norm;
    }

    /**
     * ‖g‖ over all {@code grads} together, as torch computes it: the norm of the per-tensor norms
     * (one reduction per tensor, one read back).
     */
    public static float globalNorm(Collection<NDArray> grads) {
        if (grads.isEmpty()) {
            return 0;
        }
        NDList norms = new NDList(grads.size());
        for (NDArray g : grads) {
            norms.add(g.norm()); // over all elements, whatever g's shape
        }
        return NDArrays.stack(norms).norm().getFloat();
    }
}
