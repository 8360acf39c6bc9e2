package dev.lmspark.model.generate;

/**
 * How fast iterative unmasking fills the masked positions: the fraction f(k/S) still masked after
 * step k of S, from f(0) = 1 to f(1) = 0.
 *
 * <p>A step turns the fraction into a count the way the masked-diffusion reverse step does: of the
 * m positions masked before step k+1, {@code ⌈m · f((k+1)/S) / f(k/S)⌉} stay masked (each masked
 * position would stay with probability f((k+1)/S) / f(k/S); lmspark takes the expected count,
 * rounded up, and chooses which ones separately). With {@link #LINEAR} this is exactly the XLM
 * framework's {@code MLMPredictor} rule, which unmasks {@code ⌊m / steps left⌋} positions per step;
 * the count after step k is never below {@code f(k/S)} times the initial count, and the last step
 * unmasks everything left.
 */
public enum NoiseSchedule {
    /** f(t) = 1 − t. */
    LINEAR {
        @Override
        public double maskedFraction(int step, int steps) {
            check(step, steps);
            return 1 - (double) step / steps;
        }

        @Override
        public int stillMasked(int masked, int step, int steps) {
            check(step + 1, steps);
            // ⌈m (S−k−1) / (S−k)⌉ in integers, so no rounding can leave one more masked.
            long left = steps - step;
            return (int) (((long) masked * (left - 1) + left - 1) / left);
        }
    },
    /** f(t) = cos(π/2 · t). */
    COSINE {
        @Override
        public double maskedFraction(int step, int steps) {
            check(step, steps);
            return step == steps ? 0 : Math.cos(Math.PI / 2 * step / steps);
        }
    };

    /**
     * The fraction of the initially masked positions still masked after step {@code step} of {@code
     * steps}: 1 at step 0, 0 at the last.
     */
    public abstract double maskedFraction(int step, int steps);

    /**
     * How many of the {@code masked} positions masked after step {@code step} (0 before the first)
     * stay masked after step {@code step + 1} of {@code steps}.
     */
    public int stillMasked(int masked, int step, int steps) {
        check(step + 1, steps);
        double after = maskedFraction(step + 1, steps);
        if (after == 0) {
            return 0;
        }
        // The 1e-9 keeps a product that should be whole (3.0000000000000004) from rounding up.
        double keep = masked * after / maskedFraction(step, steps);
        return Math.min(masked, (int) Math.ceil(keep - 1e-9));
    }

    private static void check(int step, int steps) {
        if (steps < 1 || step < 0 || step > steps) {
            throw new IllegalArgumentException(
                    "step " + step + " of " + steps + " is out of range (0 … steps, steps ≥ 1)");
        }
    }

    /** Parses {@code linear} or {@code cosine}, naming the accepted values otherwise. */
    public static NoiseSchedule fromName(String name) {
        for (NoiseSchedule s : values()) {
            if (s.name().equalsIgnoreCase(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException(
                "unknown noise schedule '" + name + "'; use linear or cosine");
    }
}
