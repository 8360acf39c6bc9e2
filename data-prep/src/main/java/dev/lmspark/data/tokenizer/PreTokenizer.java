package dev.lmspark.data.tokenizer;

import java.io.Serializable;
import java.util.List;

/**
 * Turns raw text into the words a tokenizer model sees, exactly as the matching Hugging Face
 * normalizer and pre-tokenizer do, so that the words counted for training are the words the trained
 * tokenizer later encodes.
 *
 * <p>Implementations are small, stateless and serializable: Spark ships them to executors.
 */
public interface PreTokenizer extends Serializable {

    /** The words of {@code text}, in order; never null, empty for blank text. */
    List<String> words(String text);

    /** The pre-tokenizer of a tokenizer type, with the lowercase option for WordPiece. */
    static PreTokenizer of(TokenizerType type, boolean lowercase) {
        return switch (type) {
            case WORDPIECE -> new BertPreTokenizer(new BertNormalizer(lowercase));
            case BPE -> new ByteLevelPreTokenizer();
        };
    }
}
