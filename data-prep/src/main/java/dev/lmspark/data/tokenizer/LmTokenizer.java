package dev.lmspark.data.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face tokenizer as collation uses it: encoding without special tokens, truncation or
 * padding (DJL's defaults truncate to 512 and pad batches), the start of each word (for whole-word
 * masking), the special token ids, and which ids are special.
 *
 * <p>Loaded from the bytes of a {@code tokenizer.json}; not thread-safe across {@link #close()}.
 */
public final class LmTokenizer implements AutoCloseable {
    private static final Map<String, String> OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final SpecialTokenIds specials;
    private final BitSet specialIds;
    private final int vocabSize;
    private final String modelType;

    private LmTokenizer(HuggingFaceTokenizer tokenizer, JsonNode json) {
        this.tokenizer = tokenizer;
        this.specials = SpecialTokenIds.of(json);
        this.modelType = json.path("model").path("type").asText("unknown");
        int max = -1;
        for (JsonNode v : json.path("model").path("vocab")) {
            max = Math.max(max, v.asInt());
        }
        this.specialIds = new BitSet();
        for (JsonNode added : json.path("added_tokens")) {
            max = Math.max(max, added.path("id").asInt());
            if (added.path("special").asBoolean(false)) {
                specialIds.set(added.path("id").asInt());
            }
        }
        this.vocabSize = max + 1;
    }

    /**
     * Loads a tokenizer from the bytes of its {@code tokenizer.json}.
     *
     * @throws BadInputException when the bytes are not a tokenizer Hugging Face can load
     */
    public static LmTokenizer fromJson(byte[] tokenizerJson) {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(tokenizerJson);
        } catch (IOException e) {
            throw new BadInputException(
                    "the tokenizer.json is not valid JSON: " + e.getMessage(), e);
        }
        try {
            return new LmTokenizer(
                    HuggingFaceTokenizer.newInstance(
                            new ByteArrayInputStream(tokenizerJson), OPTIONS),
                    json);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(
                    "the tokenizer.json cannot be loaded: " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text} and the word-start flag of each. */
    public record Encoded(int[] ids, boolean[] wordStart) {
        public int length() {
            return ids.length;
        }
    }

    /** Encodes without special tokens, truncation or padding. */
    public Encoded encode(String text) {
        if (text.isEmpty()) {
            return new Encoded(new int[0], new boolean[0]);
        }
        return toEncoded(tokenizer.encode(text, false, false));
    }

    /**
     * Encodes many texts in one call (the native side runs them in parallel). Only ids and word ids
     * cross JNI: DJL's {@link Encoding} would also build every token string and character span,
     * which costs more than the tokenization itself.
     */
    public Encoded[] encode(List<String> texts) {
        Encoded[] out = new Encoded[texts.size()];
        if (texts.isEmpty()) {
            return out;
        }
        long[] encodings =
                TokenizersLibrary.LIB.batchEncode(
                        tokenizer.getHandle(), texts.toArray(String[]::new), false);
        try {
            for (int i = 0; i < out.length; i++) {
                out[i] =
                        toEncoded(
                                TokenizersLibrary.LIB.getTokenIds(encodings[i]),
                                TokenizersLibrary.LIB.getWordIds(encodings[i]));
            }
        } finally {
            for (long e : encodings) {
                TokenizersLibrary.LIB.deleteEncoding(e);
            }
        }
        return out;
    }

    private static Encoded toEncoded(Encoding e) {
        return toEncoded(e.getIds(), e.getWordIds());
    }

    private static Encoded toEncoded(long[] ids, long[] words) {
        int[] out = new int[ids.length];
        boolean[] starts = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
            starts[i] = i == 0 || words[i] != words[i - 1] || words[i] < 0;
        }
        return new Encoded(out, starts);
    }

    /** The text of {@code ids}, special tokens kept or skipped. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    /** The token strings of {@code ids}. */
    public String[] tokens(int[] ids) {
        String[] out = new String[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = tokenizer.decode(new long[] {ids[i]}, false);
        }
        return out;
    }

    public SpecialTokenIds specials() {
        return specials;
    }

    /** Whether {@code id} is a special (added) token. */
    public boolean isSpecial(int id) {
        return specialIds.get(id);
    }

    /** A copy of the special ids, for shipping to masking code. */
    public BitSet specialIds() {
        return (BitSet) specialIds.clone();
    }

    /** One more than the largest id. */
    public int vocabSize() {
        return vocabSize;
    }

    /** {@code WordPiece}, {@code BPE}, … as the tokenizer.json says. */
    public String modelType() {
        return modelType;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
