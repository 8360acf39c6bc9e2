package dev.lmspark.model.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The schedules' fractions and the counts a step keeps masked. */
class NoiseScheduleTest {

    @Test
    void linearFractionIsOneMinusKOverS() {
        assertEquals(1.0, NoiseSchedule.LINEAR.maskedFraction(0, 4));
        assertEquals(0.75, NoiseSchedule.LINEAR.maskedFraction(1, 4));
        assertEquals(0.5, NoiseSchedule.LINEAR.maskedFraction(2, 4));
        assertEquals(0.25, NoiseSchedule.LINEAR.maskedFraction(3, 4));
        assertEquals(0.0, NoiseSchedule.LINEAR.maskedFraction(4, 4));
    }

    @Test
    void cosineFractionIsCosOfHalfPiKOverS() {
        assertEquals(1.0, NoiseSchedule.COSINE.maskedFraction(0, 3));
        assertEquals(Math.sqrt(3) / 2, NoiseSchedule.COSINE.maskedFraction(1, 3), 1e-15);
        assertEquals(0.5, NoiseSchedule.COSINE.maskedFraction(2, 3), 1e-15);
        assertEquals(0.0, NoiseSchedule.COSINE.maskedFraction(3, 3));
        assertEquals(Math.sqrt(0.5), NoiseSchedule.COSINE.maskedFraction(1, 2), 1e-15);
    }

    @Test
    void linearCountsAreTheSeedsFloorOfMaskedOverStepsLeft() {
        for (int n = 0; n <= 200; n++) {
            for (int s = 1; s <= 40; s++) {
                int m = n;
                for (int k = 0; k < s; k++) {
                    int seedUnmasks = m / (s - k); // MLMPredictor: ⌊masked / steps left⌋
                    int kept = NoiseSchedule.LINEAR.stillMasked(m, k, s);
                    assertEquals(m - seedUnmasks, kept, "n=" + n + " S=" + s + " k=" + k);
                    m = kept;
                }
                assertEquals(0, m);
            }
        }
    }

    @Test
    void countsNeverFallBelowTheScheduleAndEndAtZero() {
        for (NoiseSchedule schedule : NoiseSchedule.values()) {
            for (int n = 0; n <= 120; n++) {
                for (int s = 1; s <= 25; s++) {
                    int m = n;
                    for (int k = 0; k < s; k++) {
                        int kept = schedule.stillMasked(m, k, s);
                        assertTrue(kept <= m, schedule + " never masks again");
                        assertTrue(
                                kept >= n * schedule.maskedFraction(k + 1, s) - 1e-9,
                                schedule + " n=" + n + " S=" + s + " k=" + k);
                        m = kept;
                    }
                    assertEquals(0, m, schedule + " leaves nothing after the last step");
                }
            }
        }
        // Cosine unmasks little at first and much at the end: 16 masks over 4 steps.
        int[] expected = {15, 12, 7, 0}; // ⌈16·cos(π/8)⌉, ⌈15·cos(π/4)/cos(π/8)⌉, …
        int m = 16;
        for (int k = 0; k < 4; k++) {
            m = NoiseSchedule.COSINE.stillMasked(m, k, 4);
            assertEquals(expected[k], m, "after step " + (k + 1));
        }
    }

    @Test
    void namesAndRanges() {
        assertEquals(NoiseSchedule.COSINE, NoiseSchedule.fromName("Cosine"));
        assertTrue(
                assertThrows(
                                IllegalArgumentException.class,
                                () -> NoiseSchedule.fromName("loglinear"))
                        .getMessage()
                        .contains("'loglinear'"));
        assertThrows(
                IllegalArgumentException.class, () -> NoiseSchedule.LINEAR.maskedFraction(5, 4));
        assertThrows(
                IllegalArgumentException.class, () -> NoiseSchedule.COSINE.stillMasked(3, 4, 4));
    }
}
