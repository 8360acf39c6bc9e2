package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's parameters as host arrays, by name in a fixed order: what the driver holds between
 * rounds, broadcasts, and averages. Float32 only (master weights are float32 in every precision).
 */
public final class Parameters implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String[] names;
    private final long[][] shapes;
    private final float[][] values;

    private Parameters(String[] names, long[][] shapes, float[][] values) {
        this.names = names;
        this.shapes = shapes;
        this.values = values;
    }

    /** Copies of {@code arrays}' values (float32), in the map's order. */
    public static Parameters of(Map<String, NDArray> arrays) {
        int n = arrays.size();
        String[] names = new String[n];
        long[][] shapes = new long[n][];
        float[][] values = new float[n][];
        int i = 0;
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            NDArray a = e.getValue();
            if (a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException(
                        "parameter " + e.getKey() + " is " + a.getDataType() + ", not float32");
            }
            names[i] = e.getKey();
            shapes[i] = a.getShape().getShape();
            values[i] = a.toFloatArray();
            i++;
        }
        return new Parameters(names, shapes, values);
    }

    /** Zeros shaped like {@code like}. */
    public static Parameters zerosLike(Parameters like) {
        float[][] values = new float[like.values.length][];
        for (int i = 0; i < values.length; i++) {
            values[i] = new float[like.values[i].length];
        }
        return new Parameters(like.names, like.shapes, values);
    }

    /** The same names and shapes with other values (taken, not copied). */
    public Parameters withValues(float[][] newValues) {
        if (newValues.length != values.length) {
            throw new IllegalArgumentException("expected " + values.length + " arrays");
        }
        return new Parameters(names, shapes, newValues);
    }

    /** The arrays, created on {@code manager}, in order. */
    public Map<String, NDArray> toArrays(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (int i = 0; i < names.length; i++) {
            out.put(names[i], manager.create(values[i], new Shape(shapes[i])));
        }
        return out;
    }

    /** The parameter names, in order. */
    public List<String> names() {
        return List.of(names);
    }

    /** The values of parameter {@code i} (the array itself, not a copy). */
    public float[] values(int i) {
        return values[i];
    }

    /** The number of arrays. */
    public int size() {
        return values.length;
    }

    /** Every array (the arrays themselves). */
    public float[][] values() {
        return values;
    }

    /** The total number of scalars. */
    public long count() {
        long n = 0;
        for (float[] v : values) {
            n += v.length;
        }
        return n;
    }

    /** {@code this − start}, elementwise in float32: a worker's update over a round. */
    public Parameters minus(Parameters start) {
        float[][] out = new float[values.length][];
        for (int i = 0; i < values.length; i++) {
            float[] a = values[i];
            float[] b = start.values[i];
            float[] d = new float[a.length];
            for (int j = 0; j < a.length; j++) {
                d[j] = a[j] - b[j];
            }
            out[i] = d;
        }
        return new Parameters(names, shapes, out);
    }

    /** The L2 norm of all values together. */
    public double norm() {
        double s = 0;
        for (float[] v : values) {
            for (float x : v) {
                s += (double) x * x;
            }
        }
        return Math.sqrt(s);
    }

    /** Whether every value is finite. */
    public boolean isFinite() {
        for (float[] v : values) {
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    return false;
                }
            }
        }
        return true;
    }
}
