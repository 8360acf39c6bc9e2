package dev.lmspark.data.random;

import java.util.SplittableRandom;

/**
 * Derives independent random streams from a root seed and a path of indices, e.g. {@code
 * Seeds.random(seed, DOCUMENT_STREAM, documentIndex)}. The mixing is SplitMix64's finalizer applied
 * along the path, so nearby indices give unrelated streams.
 */
public final class Seeds {
    private Seeds() {}

    /** A 64-bit value that depends on every element of {@code path}, in order. */
    public static long mix(long seed, long... path) {
        long h = stafford(seed ^ 0x9E3779B97F4A7C15L);
        for (long p : path) {
            h = stafford(h + 0x9E3779B97F4A7C15L + stafford(p));
        }
        return h;
    }

    /** A fresh generator for {@code (seed, path…)}. */
    public static SplittableRandom random(long seed, long... path) {
        return new SplittableRandom(mix(seed, path));
    }

    /** A uniform double in [0, 1) for {@code (seed, path…)}, without allocating a generator. */
    public static double uniform(long seed, long... path) {
        return (mix(seed, path) >>> 11) * 0x1.0p-53;
    }

    private static long stafford(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
