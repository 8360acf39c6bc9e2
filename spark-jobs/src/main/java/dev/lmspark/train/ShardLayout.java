package dev.lmspark.train;

import ai.djl.ndarray.types.Shape;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelWeights;
import java.io.Serializable;
import java.util.Map;

/**
 * How a model's parameters are cut for the sharded combine: every parameter, in the model's order
 * ({@link ModelWeights#shapes}), flattened and laid end to end into one flat vector of P floats,
 * cut into S contiguous shards {@code [⌊P·s/S⌋, ⌊P·(s+1)/S⌋)} (a shard may span several tensors and
 * a tensor several shards). The cut is arithmetic only: S changes where the work happens, never a
 * value.
 */
final class ShardLayout implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Bytes of float32 a shard holds at most by default (the default S follows from it). */
    static final long TARGET_SHARD_BYTES = 32L << 20;

    private final String[] names;
    private final long[][] shapes;
    private final long[] offsets; // offsets[i] = flat start of tensor i; offsets[n] = P
    private final int shards;

    private ShardLayout(String[] names, long[][] shapes, long[] offsets, int shards) {
        this.names = names;
        this.shapes = shapes;
        this.offsets = offsets;
        this.shards = shards;
    }

    /**
     * The layout of {@code config}'s parameters in {@code shards} shards (0: the default, enough
     * for at most {@link #TARGET_SHARD_BYTES} per shard and at least 2).
     */
    static ShardLayout of(ModelConfig config, int shards) {
        Map<String, Shape> all = ModelWeights.shapes(config);
        int n = all.size();
        String[] names = new String[n];
        long[][] shapes = new long[n][];
        long[] offsets = new long[n + 1];
        int i = 0;
        for (Map.Entry<String, Shape> e : all.entrySet()) {
            names[i] = e.getKey();
            shapes[i] = e.getValue().getShape();
            offsets[i + 1] = offsets[i] + e.getValue().size();
            i++;
        }
        long p = offsets[n];
        int s = shards > 0 ? shards : defaultShards(p);
        if (s > p) {
            s = (int) Math.max(1, p);
        }
        return new ShardLayout(names, shapes, offsets, s);
    }

    /** Enough shards for at most {@link #TARGET_SHARD_BYTES} each, and at least 2. */
    static int defaultShards(long parameters) {
        long bytes = parameters * Float.BYTES;
        return (int) Math.max(2, (bytes + TARGET_SHARD_BYTES - 1) / TARGET_SHARD_BYTES);
    }

    /** S. */
    int shards() {
        return shards;
    }

    /** P, the number of floats. */
    long size() {
        return offsets[offsets.length - 1];
    }

    /** The number of tensors. */
    int tensors() {
        return names.length;
    }

    String name(int tensor) {
        return names[tensor];
    }

    long[] shape(int tensor) {
        return shapes[tensor];
    }

    /** The flat index of tensor {@code tensor}'s first value. */
    long offset(int tensor) {
        return offsets[tensor];
    }

    /** The first flat index of shard {@code s}. */
    long start(int s) {
        return Math.multiplyExact(size(), (long) s) / shards;
    }

    /** The flat index after shard {@code s}'s last value. */
    long end(int s) {
        return start(s + 1);
    }

    /** Shard {@code s}'s length in floats. */
    int length(int s) {
        return Math.toIntExact(end(s) - start(s));
    }

    /** What {@link #forEachOverlap} reports: part of a tensor within a flat range. */
    @FunctionalInterface
    interface Overlap {
        /**
         * @param tensor the tensor's index
         * @param from the first value within the tensor (flattened)
         * @param to the value after the last, within the tensor
         * @param at where the part starts within the range
         */
        void accept(int tensor, long from, long to, int at) throws java.io.IOException;
    }

    /** Calls {@code f} for every tensor overlapping the flat range {@code [from, to)}, in order. */
    void forEachOverlap(long from, long to, Overlap f) throws java.io.IOException {
        int i = java.util.Arrays.binarySearch(offsets, from);
        i = i >= 0 ? i : -i - 2;
        for (; i < names.length && offsets[i] < to; i++) {
            long a = Math.max(from, offsets[i]);
            long b = Math.min(to, offsets[i + 1]);
            if (b > a) {
                f.accept(i, a - offsets[i], b - offsets[i], (int) (a - from));
            }
        }
    }

    /** Writes one tensor's raw little-endian float32 data. */
    @FunctionalInterface
    interface TensorData {
        void write(int tensor, java.io.OutputStream out) throws java.io.IOException;
    }

    /**
     * The layout's tensors as float32 safetensors entries, by name, whose data {@code data} writes.
     */
    java.util.List<dev.lmspark.model.io.SafeTensors.Entry> entries(TensorData data) {
        java.util.List<dev.lmspark.model.io.SafeTensors.Entry> out = new java.util.ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            int tensor = i;
            out.add(
                    new dev.lmspark.model.io.SafeTensors.Entry() {
                        @Override
                        public String name() {
                            return names[tensor];
                        }

                        @Override
                        public ai.djl.ndarray.types.DataType dataType() {
                            return ai.djl.ndarray.types.DataType.FLOAT32;
                        }

                        @Override
                        public long[] shape() {
                            return shapes[tensor];
                        }

                        @Override
                        public void writeData(java.io.OutputStream o) throws java.io.IOException {
                            data.write(tensor, o);
                        }
                    });
        }
        return out;
    }
}
