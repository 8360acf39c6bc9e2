package dev.lmspark.model.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.collate.Example;
import dev.lmspark.data.collate.ExampleAssembler;
import dev.lmspark.data.collate.Segment;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import java.util.List;

/**
 * Raw text encoded for BERT, as data preparation lays it out ({@link ExampleAssembler}): {@code
 * [CLS] A [SEP] B [SEP]} with token types 0 on {@code [CLS] A [SEP]} and 1 on {@code B [SEP]}, or
 * {@code [CLS] A [SEP]} (types 0) when there is no B. Rows are right-padded to the longest row of
 * the batch. Every array is {@code (B, T)}, int64.
 *
 * <p><b>Truncation</b> is Hugging Face's {@code longest_first}: while a row is longer than {@code
 * maxLength}, one token is dropped from the end of the longer segment (of B when they are equally
 * long); the special tokens are always kept.
 *
 * @param inputIds token ids before masking, padding {@code [PAD]}
 * @param attentionMask 1 at real tokens, 0 at padding
 * @param tokenTypeIds segment ids
 * @param specialTokensMask 1 at {@code [CLS]}, {@code [SEP]} and padding
 * @param wordStart 1 at the first sub-token of each word (for whole-word masking)
 */
public record BertTextBatch(
        NDArray inputIds,
        NDArray attentionMask,
        NDArray tokenTypeIds,
        NDArray specialTokensMask,
        NDArray wordStart) {

    /** The model inputs: ids (unmasked), mask and segment ids. */
    public BertInputs inputs() {
        return BertInputs.of(inputIds, attentionMask, tokenTypeIds);
    }

    /**
     * Encodes a batch of texts with a BERT (WordPiece) tokenizer, such as the {@code
     * tokenizer.json} written by {@code train-tokenizer --type wordpiece}.
     *
     * @param textsA segment A of each example
     * @param textsB segment B of each example, or null for single segments
     * @param maxLength longest row, special tokens included (at least 3, or 5 with B)
     * @param manager where the arrays are created
     * @throws IllegalArgumentException naming the value and the fix: a text with no tokens, a
     *     {@code maxLength} too short, lists of different sizes, a tokenizer without {@code [CLS]},
     *     {@code [SEP]} or {@code [PAD]}
     */
    public static BertTextBatch encode(
            LmTokenizer tokenizer,
            List<String> textsA,
            List<String> textsB,
            int maxLength,
            NDManager manager) {
        SpecialTokenIds specials = tokenizer.specials();
        requireToken(specials.cls(), "[CLS]");
        requireToken(specials.sep(), "[SEP]");
        requireToken(specials.pad(), "[PAD]");
        if (textsA.isEmpty()) {
            throw new IllegalArgumentException("no texts: give at least one text A");
        }
        if (textsB != null && textsB.size() != textsA.size()) {
            throw new IllegalArgumentException(
                    textsA.size()
                            + " texts A but "
                            + textsB.size()
                            + " texts B; give one B per A, or null for single segments");
        }
        boolean pairs = textsB != null;
        int minimum = pairs ? 5 : 3;
        if (maxLength < minimum) {
            throw new IllegalArgumentException(
                    "maxLength "
                            + maxLength
                            + " is too short for "
                            + (pairs ? "[CLS] A [SEP] B [SEP]" : "[CLS] A [SEP]")
                            + "; use at least "
                            + minimum);
        }
        int n = textsA.size();
        LmTokenizer.Encoded[] a = tokenizer.encode(textsA);
        LmTokenizer.Encoded[] b = pairs ? tokenizer.encode(textsB) : null;
        ExampleAssembler.MlmSequence[] rows = new ExampleAssembler.MlmSequence[n];
        int longest = 0;
        ExampleAssembler assembler =
                new ExampleAssembler(
                        maxLength,
                        false,
                        specials.pad(),
                        tokenizer.specialIds(),
                        specials.cls(),
                        specials.sep(),
                        null);
        for (int r = 0; r < n; r++) {
            Segment sa = segment(a[r], "A", r, textsA.get(r));
            Segment sb = pairs ? segment(b[r], "B", r, textsB.get(r)) : null;
            Segment[] kept = truncate(sa, sb, maxLength - (pairs ? 3 : 2));
            rows[r] = assembler.mlmSequence(kept[0], kept[1]);
            longest = Math.max(longest, rows[r].tokens().length());
        }
        // Pad to the longest row, not to maxLength: padding changes no real token's result.
        ExampleAssembler padder =
                new ExampleAssembler(
                        longest,
                        false,
                        specials.pad(),
                        tokenizer.specialIds(),
                        specials.cls(),
                        specials.sep(),
                        null);
        long[] ids = new long[n * longest];
        long[] mask = new long[n * longest];
        long[] types = new long[n * longest];
        long[] special = new long[n * longest];
        long[] starts = new long[n * longest];
        for (int r = 0; r < n; r++) {
            Segment tokens = rows[r].tokens();
            byte[] wordStart = new byte[tokens.length()];
            for (int i = 0; i < wordStart.length; i++) {
                wordStart[i] = (byte) (tokens.wordStart()[i] ? 1 : 0);
            }
            Example e =
                    padder.pad(
                            tokens.ids(),
                            rows[r].typeIds(),
                            tokens.ids(),
                            tokens.ids(),
                            wordStart,
                            null,
                            null,
                            r);
            for (int i = 0; i < longest; i++) {
                int at = r * longest + i;
                ids[at] = e.inputIds()[i];
                mask[at] = e.attentionMask()[i];
                types[at] = e.tokenTypeIds()[i];
                special[at] = e.specialTokensMask()[i];
                starts[at] = e.wordStart()[i];
            }
        }
        Shape shape = new Shape(n, longest);
        return new BertTextBatch(
                manager.create(ids, shape),
                manager.create(mask, shape),
                manager.create(types, shape),
                manager.create(special, shape),
                manager.create(starts, shape));
    }

    private static void requireToken(Integer id, String token) {
        if (id == null) {
            throw new IllegalArgumentException(
                    "the tokenizer has no "
                            + token
                            + " token; use a BERT (WordPiece) tokenizer, e.g. from"
                            + " train-tokenizer --type wordpiece");
        }
    }

    private static Segment segment(LmTokenizer.Encoded e, String side, int row, String text) {
        if (e.length() == 0) {
            throw new IllegalArgumentException(
                    "text "
                            + side
                            + " of example "
                            + row
                            + " ("
                            + quoted(text)
                            + ") has no tokens; give it some text"
                            + (side.equals("B") ? ", or no B (null) for a single segment" : ""));
        }
        return new Segment(e.ids(), e.wordStart());
    }

    private static String quoted(String text) {
        String shown = text.length() > 20 ? text.substring(0, 20) + "…" : text;
        return '"' + shown.replace("\n", "\\n") + '"';
    }

    /** Longest first from the ends: the longer segment (B on a tie) loses its last token. */
    static Segment[] truncate(Segment a, Segment b, int maxTokens) {
        int aLength = a.length();
        int bLength = b == null ? 0 : b.length();
        while (aLength + bLength > maxTokens) {
            if (aLength > bLength) {
                aLength--;
            } else {
                bLength--;
            }
        }
        return new Segment[] {a.slice(0, aLength), b == null ? null : b.slice(0, bLength)};
    }
}
