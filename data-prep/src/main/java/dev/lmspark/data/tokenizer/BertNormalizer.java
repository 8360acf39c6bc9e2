package dev.lmspark.data.tokenizer;

import java.io.Serializable;
import java.text.Normalizer;
import java.util.Locale;

/**
 * The Hugging Face {@code BertNormalizer}: clean text, isolate CJK characters, strip accents (when
 * lowercasing, as BERT uncased does), lowercase — in that order, character by character as the Rust
 * implementation does.
 *
 * <ul>
 *   <li>clean text: drops U+0000, U+FFFD and "other" characters (categories Cc, Cf, Cn, Co) except
 *       tab, newline and carriage return; maps every Unicode White_Space character to a space;
 *   <li>CJK ideographs get a space on each side;
 *   <li>accents: NFD, then non-spacing marks (category Mn) are dropped;
 *   <li>lowercase: each code point on its own (no context rules such as the final sigma).
 * </ul>
 */
public final class BertNormalizer implements Serializable {
    private static final long serialVersionUID = 1L;

    private final boolean lowercase;

    /**
     * @param lowercase lowercase and strip accents (BERT uncased); false keeps case and accents
     */
    public BertNormalizer(boolean lowercase) {
        this.lowercase = lowercase;
    }

    /** Whether this normalizer lowercases (and strips accents). */
    public boolean lowercase() {
        return lowercase;
    }

    /** The normalized form of {@code text}. */
    public String normalize(String text) {
        StringBuilder cleaned = new StringBuilder(text.length() + 8);
        text.codePoints()
                .forEach(
                        cp -> {
                            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                                return;
                            }
                            if (isWhitespace(cp)) {
                                cleaned.append(' ');
                            } else if (isChineseChar(cp)) {
                                cleaned.append(' ').appendCodePoint(cp).append(' ');
                            } else {
                                cleaned.appendCodePoint(cp);
                            }
                        });
        if (!lowercase) {
            return cleaned.toString();
        }
        String decomposed = Normalizer.normalize(cleaned, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(decomposed.length());
        decomposed
                .codePoints()
                .forEach(
                        cp -> {
                            if (Character.getType(cp) == Character.NON_SPACING_MARK) {
                                return;
                            }
                            if (cp < 0x80) {
                                out.append(Character.toLowerCase((char) cp));
                            } else {
                                // One code point at a time, so no context rule (final sigma)
                                // applies; multi-character forms (U+0130) come out whole.
                                out.append(
                                        new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
                            }
                        });
        return out.toString();
    }

    /** Unicode White_Space, as Rust's {@code char::is_whitespace}. */
    static boolean isWhitespace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || Character.isSpaceChar(cp);
    }

    /** Categories Cc, Cf, Cn, Co, except tab, newline and carriage return. */
    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL
                || type == Character.FORMAT
                || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE
                || type == Character.SURROGATE;
    }

    /** The CJK ideograph blocks BERT isolates. */
    static boolean isChineseChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
