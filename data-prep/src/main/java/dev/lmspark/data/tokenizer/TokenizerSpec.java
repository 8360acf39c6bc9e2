package dev.lmspark.data.tokenizer;

import java.io.Serializable;

/**
 * What to train: the tokenizer family, the vocabulary size, lowercasing (WordPiece only) and the
 * minimum pair frequency for a merge.
 *
 * @param type WordPiece (BERT) or byte-level BPE (GPT-2)
 * @param vocabSize final vocabulary size, special tokens included
 * @param lowercase WordPiece: lowercase and strip accents (BERT uncased); must be false for BPE
 * @param minFrequency pairs seen fewer times are not merged
 */
public record TokenizerSpec(TokenizerType type, int vocabSize, boolean lowercase, long minFrequency)
        implements Serializable {

    /** Validates every field, naming the offending flag. */
    public TokenizerSpec {
        if (type == null) {
            throw new IllegalArgumentException("--type is required: wordpiece or bpe");
        }
        int specials = type.specialTokens().size();
        int bytes = type == TokenizerType.BPE ? 256 : 1;
        if (vocabSize < specials + bytes) {
            throw new IllegalArgumentException(
                    "--vocab-size "
                            + vocabSize
                            + " cannot hold the "
                            + specials
                            + " special tokens plus "
                            + (type == TokenizerType.BPE ? "the 256 byte symbols" : "an alphabet")
                            + "; use at least "
                            + (specials + bytes)
                            + " (a few thousand is typical)");
        }
        if (minFrequency < 0) {
            throw new IllegalArgumentException(
                    "--min-frequency " + minFrequency + " must be 0 or more");
        }
        if (lowercase && type == TokenizerType.BPE) {
            throw new IllegalArgumentException(
                    "--lowercase applies to wordpiece only; byte-level BPE keeps text byte-exact");
        }
    }

    /** The pre-tokenizer whose words this tokenizer is trained on. */
    public PreTokenizer preTokenizer() {
        return PreTokenizer.of(type, lowercase);
    }
}
