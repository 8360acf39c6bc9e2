package dev.lmspark.model.optim;

import java.io.Serializable;
import java.util.Locale;

/**
 * Learning rate by step (0-based), as Hugging Face's schedulers: linear warm-up from 0 over {@code
 * warmupSteps}, then constant, linear decay to 0 at {@code totalSteps}, or cosine decay to 0; after
 * {@code totalSteps} a decaying schedule stays at 0.
 */
public record LearningRateSchedule(Kind kind, double baseLr, long warmupSteps, long totalSteps)
        implements Serializable {

    /** The shape after warm-up. */
    public enum Kind {
        CONSTANT,
        LINEAR,
        COSINE;

        public static Kind fromCliName(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "unknown --lr-schedule '" + s + "'; use constant, linear or cosine");
            }
        }
    }

    public LearningRateSchedule {
        if (!(baseLr > 0)) {
            throw new IllegalArgumentException("--lr " + baseLr + " must be above 0");
        }
        if (warmupSteps < 0 || totalSteps < 1) {
            throw new IllegalArgumentException(
                    "--warmup-steps "
                            + warmupSteps
                            + " and a total of "
                            + totalSteps
                            + " steps are invalid");
        }
    }

    /** The learning rate at {@code step}. */
    public double at(long step) {
        if (step < warmupSteps) {
            return baseLr * step / Math.max(1, warmupSteps);
        }
        // Past the end a decaying schedule stays at 0 (Hugging Face's cosine would rise again).
        double progress =
                Math.min(1, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
        return switch (kind) {
            case CONSTANT -> baseLr;
            case LINEAR -> baseLr * Math.max(0, 1 - progress);
            case COSINE -> baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
        };
    }
}
