package dev.lmspark.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.lmspark.data.corpus.SampleCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trains both tokenizer types in-process (no Spark) and checks that the Rust Hugging Face
 * implementation, through DJL, reads the files and splits text into exactly the words lmspark
 * counted.
 */
class TrainedTokenizerTest {

    @TempDir Path dir;

    private static TrainedTokenizer train(TokenizerSpec spec, List<String> docs) {
        PreTokenizer pre = spec.preTokenizer();
        Map<String, Long> counts = new HashMap<>();
        for (String doc : docs) {
            for (String w : pre.words(doc)) {
                counts.merge(w, 1L, Long::sum);
            }
        }
        return TokenizerTrainer.train(spec, counts);
    }

    private static List<String> docs(SampleCorpus.Kind kind, int n) {
        SampleCorpus corpus = new SampleCorpus(kind, 11);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            docs.add(corpus.document(i));
        }
        return docs;
    }

    private HuggingFaceTokenizer load(TrainedTokenizer trained) throws IOException {
        for (Map.Entry<String, byte[]> f : trained.files().entrySet()) {
            Files.write(dir.resolve(f.getKey()), f.getValue());
        }
        return HuggingFaceTokenizer.newInstance(
                dir.resolve(TrainedTokenizer.TOKENIZER_JSON), Map.of("addSpecialTokens", "false"));
    }

    @Test
    void wordPieceWordsAgreeWithTheRustPreTokenizer() throws IOException {
        List<String> docs = docs(SampleCorpus.Kind.PROSE, 300);
        docs.add("Tricky: «Ünïcödé» café—x中文y, tab\there\u00A0nbsp and $5.00 (ok)!");
        TokenizerSpec spec = new TokenizerSpec(TokenizerType.WORDPIECE, 2000, true, 2);
        TrainedTokenizer trained = train(spec, docs);
        try (HuggingFaceTokenizer hf = load(trained)) {
            // The sample prose has a small vocabulary: training ends when every word is a token.
            assertTrue(trained.vocab().size() <= 2000 && trained.vocab().size() > 1000);
            for (String doc : docs) {
                Encoding enc = hf.encode(doc);
                List<String> words = new ArrayList<>();
                for (String token : enc.getTokens()) {
                    if (token.startsWith("##")) {
                        int last = words.size() - 1;
                        words.set(last, words.get(last) + token.substring(2));
                    } else {
                        words.add(token);
                    }
                }
                assertEquals(spec.preTokenizer().words(doc), words, doc);
            }
        }
    }

    @Test
    void byteLevelBpeRoundTripsBytesExactly() throws IOException {
        List<String> docs = docs(SampleCorpus.Kind.CODE, 300);
        docs.add("emoji 🙂 and ünïcödé,\r\n\ttabs   and  spaces ");
        TrainedTokenizer trained =
                train(new TokenizerSpec(TokenizerType.BPE, 1000, false, 2), docs);
        assertTrue(trained.vocab().size() <= 1000 && trained.vocab().size() > 600);
        try (HuggingFaceTokenizer hf = load(trained)) {
            for (String doc : docs) {
                long[] ids = hf.encode(doc).getIds();
                assertEquals(doc, hf.decode(ids, false));
                assertTrue(ids.length < doc.length(), "merges compress: " + ids.length);
            }
        }
    }

    @Test
    void specialTokenIdsArePinned() throws IOException {
        List<String> docs = docs(SampleCorpus.Kind.PROSE, 20);
        TrainedTokenizer wp = train(new TokenizerSpec(TokenizerType.WORDPIECE, 500, true, 0), docs);
        try (HuggingFaceTokenizer hf =
                HuggingFaceTokenizer.newInstance(writeTo(wp, dir.resolve("wp")), Map.of())) {
            assertEquals(
                    List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
                    wp.vocab().subList(0, 5));
            Encoding pair = hf.encode("the star", "a moon");
            long[] ids = pair.getIds();
            int firstSep = toList(ids).indexOf(3L);
            assertEquals(2, ids[0]);
            assertEquals(3, ids[ids.length - 1]);
            assertEquals(2, toList(ids).stream().filter(id -> id == 3L).count());
            long[] types = pair.getTypeIds();
            for (int i = 0; i < types.length; i++) {
                assertEquals(i <= firstSep ? 0 : 1, types[i], "type id at " + i);
            }
            assertEquals(4, hf.encode("[MASK]", false, false).getIds()[0]);
        }
        TrainedTokenizer bpe = train(new TokenizerSpec(TokenizerType.BPE, 400, false, 0), docs);
        try (HuggingFaceTokenizer hf =
                HuggingFaceTokenizer.newInstance(writeTo(bpe, dir.resolve("bpe")), Map.of())) {
            List<String> specials =
                    List.of(
                            "<|endoftext|>",
                            "<pad>",
                            "<fim_prefix>",
                            "<fim_middle>",
                            "<fim_suffix>",
                            "<fim_pad>");
            for (int id = 0; id < specials.size(); id++) {
                long[] ids = hf.encode("x" + specials.get(id) + "y").getIds();
                assertEquals(3, ids.length, specials.get(id));
                assertEquals(id, ids[1], specials.get(id));
            }
            assertFalse(hf.decode(new long[] {0, 2}, true).contains("<"));
        }
    }

    private static Path writeTo(TrainedTokenizer t, Path d) throws IOException {
        Files.createDirectories(d);
        for (Map.Entry<String, byte[]> f : t.files().entrySet()) {
            Files.write(d.resolve(f.getKey()), f.getValue());
        }
        return d.resolve(TrainedTokenizer.TOKENIZER_JSON);
    }

    private static List<Long> toList(long[] a) {
        List<Long> out = new ArrayList<>();
        for (long v : a) {
            out.add(v);
        }
        return out;
    }
}
