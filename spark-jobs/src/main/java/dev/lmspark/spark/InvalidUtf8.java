package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import java.io.PrintWriter;
import java.util.List;

/**
 * Input quality: how many malformed UTF-8 sequences a corpus held (each decoded as one U+FFFD),
 * reported as a warning with their share of the characters read, or refused above {@code
 * --max-invalid-utf8-fraction}. A text corpus in another encoding, or a binary file among the
 * inputs, shows up here rather than as tokens of garbage.
 */
public final class InvalidUtf8 {
    /** The flag's default: never fail, only warn. */
    public static final double NO_LIMIT = 1.0;

    private InvalidUtf8() {}

    /** Checks a {@code --max-invalid-utf8-fraction} value. */
    public static void checkFraction(double max) {
        if (!(max >= 0 && max <= 1)) {
            throw new BadInputException(
                    "--max-invalid-utf8-fraction "
                            + max
                            + " must be between 0 and 1 (e.g. 0.001; default 1: only warn)");
        }
    }

    /**
     * Warns on {@code progress} when {@code replacements} > 0; throws when their share of {@code
     * characters} exceeds {@code max}.
     */
    public static void report(
            String command,
            List<String> inputs,
            long replacements,
            long characters,
            double max,
            PrintWriter progress) {
        if (replacements == 0) {
            return;
        }
        double share = characters == 0 ? 1 : (double) replacements / characters;
        String what =
                String.format(
                        "%,d invalid UTF-8 sequence(s), each read as U+FFFD (%.4f%% of %,d"
                                + " characters)",
                        replacements, 100 * share, characters);
        if (share > max) {
            throw new BadInputException(
                    "--input "
                            + String.join(",", inputs)
                            + " holds "
                            + what
                            + ", above --max-invalid-utf8-fraction "
                            + max
                            + "; convert the files to UTF-8, or leave out the ones that are not"
                            + " text");
        }
        progress.printf(
                "%s: warning: --input holds %s; convert the files to UTF-8, or give"
                        + " --max-invalid-utf8-fraction to refuse such input%n",
                command, what);
    }
}
