package dev.lmspark.data.collate;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Fill-in-the-middle (Bavarian et al., 2022). A text is cut at two random character positions into
 * prefix, middle and suffix, each tokenized on its own, and rearranged as
 *
 * <pre>
 * PSM: &lt;fim_prefix&gt; prefix &lt;fim_suffix&gt; suffix &lt;fim_middle&gt; middle
 * SPM: &lt;fim_prefix&gt; &lt;fim_suffix&gt; suffix &lt;fim_middle&gt; prefix middle
 * </pre>
 *
 * (SPM with {@code spmRate}, PSM otherwise) so a causal model learns to write the middle from both
 * sides. Every token, sentinels included, is trained on. Document level applies to each document
 * before packing (then EOS follows); context level applies after packing to each EOS-delimited
 * segment of a window, keeping the window's length: a longer result loses tokens from the end of
 * its suffix (or the segment stays as it was when that would empty the suffix), a shorter one gets
 * {@code <fim_pad>} tokens after its suffix — both as bigcode's Megatron-LM does, so a middle is
 * always followed by what followed the segment.
 */
public final class FillInTheMiddle implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double rate;
    private final double spmRate;
    private final int prefixId;
    private final int middleId;
    private final int suffixId;
    private final int padId;

    public FillInTheMiddle(
            double rate, double spmRate, int prefixId, int middleId, int suffixId, int padId) {
        if (!(rate >= 0 && rate <= 1)) {
            throw new IllegalArgumentException("--fim-rate " + rate + " must be between 0 and 1");
        }
        if (!(spmRate >= 0 && spmRate <= 1)) {
            throw new IllegalArgumentException(
                    "--fim-spm-rate " + spmRate + " must be between 0 and 1");
        }
        this.rate = rate;
        this.spmRate = spmRate;
        this.prefixId = prefixId;
        this.middleId = middleId;
        this.suffixId = suffixId;
        this.padId = padId;
    }

    /** The three parts of a cut text. */
    public record Cut(String prefix, String middle, String suffix, boolean spm) {}

    /** Whether to apply FIM and where to cut, or null for plain causal text. */
    public Cut cut(String text, SplittableRandom random) {
        if (random.nextDouble() >= rate) {
            return null;
        }
        int codePoints = text.codePointCount(0, text.length());
        int x = random.nextInt(codePoints + 1);
        int y = random.nextInt(codePoints + 1);
        int lo = text.offsetByCodePoints(0, Math.min(x, y));
        int hi = text.offsetByCodePoints(0, Math.max(x, y));
        boolean spm = random.nextDouble() < spmRate;
        return new Cut(text.substring(0, lo), text.substring(lo, hi), text.substring(hi), spm);
    }

    /** The rearranged tokens of a cut text (no EOS). */
    public int[] arrange(Cut cut, Function<String, int[]> encode) {
        int[] p = encode.apply(cut.prefix());
        int[] m = encode.apply(cut.middle());
        int[] s = encode.apply(cut.suffix());
        return arrange(p, m, s, cut.spm());
    }

    /** The rearranged tokens from separately encoded prefix, middle and suffix (no EOS). */
    public int[] arrange(int[] p, int[] m, int[] s, boolean spm) {
        int[] out = new int[p.length + m.length + s.length + 3];
        int at = 0;
        out[at++] = prefixId;
        if (spm) {
            out[at++] = suffixId;
            at = put(out, at, s);
            out[at++] = middleId;
            at = put(out, at, p);
            put(out, at, m);
        } else {
            at = put(out, at, p);
            out[at++] = suffixId;
            at = put(out, at, s);
            out[at++] = middleId;
            put(out, at, m);
        }
        return out;
    }

    private static int put(int[] out, int at, int[] part) {
        System.arraycopy(part, 0, out, at, part.length);
        return at + part.length;
    }

    /** A window after context-level FIM, with what happened to its segments. */
    public record ContextResult(int[] ids, int applied, int padded, int truncated, int skipped) {}

    /**
     * Context-level FIM on one packed window.
     *
     * @param window the window's tokens
     * @param eos the EOS id delimiting documents
     * @param decode segment tokens to text
     * @param encode text to tokens
     * @param randomForSegment the generator of the window's k-th segment
     */
    public ContextResult contextLevel(
            int[] window,
            int eos,
            Function<int[], String> decode,
            Function<String, int[]> encode,
            java.util.function.IntFunction<SplittableRandom> randomForSegment) {
        int[] out = new int[window.length];
        int at = 0;
        int applied = 0;
        int padded = 0;
        int truncated = 0;
        int skipped = 0;
        int segment = 0;
        int from = 0;
        while (from < window.length) {
            int to = from;
            while (to < window.length && window[to] != eos) {
                to++;
            }
            int[] original = Arrays.copyOfRange(window, from, to);
            int[] result = original;
            if (original.length > 0) {
                Cut cut = cut(decode.apply(original), randomForSegment.apply(segment));
                if (cut != null) {
                    int[] p = encode.apply(cut.prefix());
                    int[] m = encode.apply(cut.middle());
                    int[] s = encode.apply(cut.suffix());
                    int diff = p.length + m.length + s.length + 3 - original.length;
                    if (diff > 0 && s.length <= diff) {
                        skipped++;
                    } else {
                        // As bigcode's Megatron: the suffix gives up its end, or takes the pads.
                        if (diff > 0) {
                            s = Arrays.copyOf(s, s.length - diff);
                            truncated++;
                        } else if (diff < 0) {
                            int length = s.length;
                            s = Arrays.copyOf(s, length - diff);
                            Arrays.fill(s, length, s.length, padId);
                            padded++;
                        }
                        result = arrange(p, m, s, cut.spm());
                        applied++;
                    }
                }
            }
            System.arraycopy(result, 0, out, at, result.length);
            at += result.length;
            if (to < window.length) {
                out[at++] = eos;
            }
            from = to + 1;
            segment++;
        }
        return new ContextResult(out, applied, padded, truncated, skipped);
    }
}
