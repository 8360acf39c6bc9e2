package dev.lmspark.model.generate;

import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.PreTokenizer;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerTrainer;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import java.util.HashMap;
import java.util.Map;

/** Small real tokenizers trained in-process on the built-in sample corpus, once per JVM. */
final class Tokenizers {
    private static LmTokenizer wordPiece;
    private static LmTokenizer bpe;

    private Tokenizers() {}

    /** WordPiece (BERT specials: [PAD]=0 … [MASK]=4), 300 tokens, on prose. */
    static synchronized LmTokenizer wordPiece() {
        if (wordPiece == null) {
            wordPiece =
                    train(
                            new TokenizerSpec(TokenizerType.WORDPIECE, 300, true, 2),
                            SampleCorpus.Kind.PROSE);
        }
        return wordPiece;
    }

    /** Byte-level BPE (EOS and the FIM sentinels at ids 0 … 5), 400 tokens, on code. */
    static synchronized LmTokenizer bpe() {
        if (bpe == null) {
            bpe =
                    train(
                            new TokenizerSpec(TokenizerType.BPE, 400, false, 2),
                            SampleCorpus.Kind.CODE);
        }
        return bpe;
    }

    /** Document {@code i} of the sample corpus of {@code kind}. */
    static String document(SampleCorpus.Kind kind, long i) {
        return new SampleCorpus(kind, 1).document(i);
    }

    private static LmTokenizer train(TokenizerSpec spec, SampleCorpus.Kind kind) {
        PreTokenizer pre = spec.preTokenizer();
        Map<String, Long> counts = new HashMap<>();
        for (int i = 0; i < 100; i++) {
            pre.words(document(kind, i)).forEach(w -> counts.merge(w, 1L, Long::sum));
        }
        TrainedTokenizer trained = TokenizerTrainer.train(spec, counts);
        return LmTokenizer.fromJson(trained.files().get(TrainedTokenizer.TOKENIZER_JSON));
    }
}
