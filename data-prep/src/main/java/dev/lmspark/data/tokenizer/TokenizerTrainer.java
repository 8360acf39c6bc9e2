package dev.lmspark.data.tokenizer;

import java.util.Map;

/**
 * Trains a tokenizer from word counts: the WordPiece vocabulary with Hugging Face's recipe (BPE
 * merges with the {@code ##} continuation prefix, kept as a vocabulary), or a GPT-2 byte-level BPE
 * (the 256 byte characters always in the alphabet).
 */
public final class TokenizerTrainer {
    private TokenizerTrainer() {}

    /**
     * Trains {@code spec} on {@code wordCounts}, words as {@link TokenizerSpec#preTokenizer()}
     * makes them.
     *
     * @throws IllegalArgumentException when the corpus is empty or the vocabulary cannot hold the
     *     alphabet
     */
    public static TrainedTokenizer train(TokenizerSpec spec, Map<String, Long> wordCounts) {
        BpeTrainer.Builder builder =
                BpeTrainer.builder()
                        .setVocabSize(spec.vocabSize())
                        .optMinFrequency(spec.minFrequency())
                        .optSpecialTokens(spec.type().specialTokens());
        switch (spec.type()) {
            case WORDPIECE ->
                    builder.optContinuingSubwordPrefix(TrainedTokenizer.CONTINUING_SUBWORD_PREFIX);
            case BPE -> builder.optInitialAlphabet(ByteLevelPreTokenizer.alphabet());
        }
        BpeTrainer.Result result = builder.build().train(wordCounts);
        return new TrainedTokenizer(spec, result.vocab(), result.merges(), result.alphabetSize());
    }
}
