package dev.lmspark.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.random.Seeds;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fresh parameter values, as Hugging Face initialises BERT and Llama: normal(0, std) for matrices
 * and embeddings, ones for normalization weights, zeros for biases. Parameter p draws from (seed,
 * p's name), so each value is independent of the others and of their order.
 */
public final class Initialization {
    private Initialization() {}

    /** Arrays on {@code manager} for every name and shape of {@code shapes}, in their order. */
    public static Map<String, NDArray> initialize(
            Map<String, Shape> shapes, double std, NDManager manager, long seed) {
        Map<String, NDArray> params = new LinkedHashMap<>();
        shapes.forEach(
                (name, shape) -> {
                    float[] values = new float[(int) shape.size()];
                    if (name.endsWith("norm.weight")) {
                        Arrays.fill(values, 1f);
                    } else if (!name.endsWith("bias")) {
                        SplittableRandom r = Seeds.random(seed, name.hashCode());
                        for (int i = 0; i < values.length; i++) {
                            values[i] = (float) (r.nextGaussian() * std);
                        }
                    }
                    params.put(name, manager.create(values, shape));
                });
        return params;
    }
}
