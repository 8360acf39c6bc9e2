package dev.lmspark.data.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The GPT-2 byte-level pre-tokenizer ({@code ByteLevel} with {@code add_prefix_space=false} and
 * {@code use_regex=true}): splits text with GPT-2's regular expression, then writes every UTF-8
 * byte of each piece as one printable character of GPT-2's {@code bytes_to_unicode} table (a space
 * becomes {@code Ġ}). Every byte sequence is representable, so a byte-level BPE never needs an
 * unknown token and decodes back to the exact input bytes.
 */
public final class ByteLevelPreTokenizer implements PreTokenizer {
    private static final long serialVersionUID = 1L;

    /** GPT-2's split pattern, with Unicode classes as the Rust implementation uses. */
    static final Pattern GPT2_SPLIT =
            Pattern.compile(
                    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                    Pattern.UNICODE_CHARACTER_CLASS);

    private static final char[] BYTE_TO_CHAR = bytesToUnicode();

    @Override
    public List<String> words(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = GPT2_SPLIT.matcher(text);
        while (m.find()) {
            words.add(toByteChars(m.group()));
        }
        return words;
    }

    /** The byte-level form of {@code piece}: one character per UTF-8 byte. */
    public static String toByteChars(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The 256 characters standing for bytes 0..255, in byte order. */
    public static List<String> alphabet() {
        List<String> chars = new ArrayList<>(256);
        for (char c : BYTE_TO_CHAR) {
            chars.add(String.valueOf(c));
        }
        return chars;
    }

    /** GPT-2's {@code bytes_to_unicode}: printable bytes map to themselves, the rest above 255. */
    private static char[] bytesToUnicode() {
        char[] table = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? (char) b : (char) next++;
        }
        return table;
    }
}
