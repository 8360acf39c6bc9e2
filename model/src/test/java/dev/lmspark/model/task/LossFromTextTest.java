package dev.lmspark.model.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.PreTokenizer;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerTrainer;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.loss.Reduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BertForPretraining#lossFromText} with a real {@code tokenizer.json} from the project's
 * tokenizer trainer, written to disk and read back as a user would read {@code train-tokenizer}'s
 * output.
 */
class LossFromTextTest {
    static final String A = "The river runs past the old mill and the children watch the boats.";
    static final String B = "In the evening the baker closes the shop and walks home slowly.";

    @TempDir static Path dir;
    static LmTokenizer tokenizer;
    static LmTokenizer bpe;
    static NDManager m;
    static BertForPretraining model;

    @BeforeAll
    static void setUp() throws Exception {
        tokenizer = load(new TokenizerSpec(TokenizerType.WORDPIECE, 300, true, 2), "wordpiece");
        bpe = load(new TokenizerSpec(TokenizerType.BPE, 300, false, 2), "bpe");
        m = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE);
        ModelConfig c =
                new ModelConfig(
                        "bert",
                        tokenizer.vocabSize(),
                        32,
                        2,
                        2,
                        64,
                        64,
                        "learned",
                        2,
                        false,
                        false,
                        "layernorm",
                        1e-12,
                        "gelu",
                        true,
                        0.1,
                        10000,
                        true,
                        0.02);
        model = BertForPretraining.initialize(c, m, 3);
    }

    @AfterAll
    static void tearDown() {
        m.close();
        tokenizer.close();
        bpe.close();
    }

    /** Trains on the sample corpus, writes the trainer's files, loads tokenizer.json from disk. */
    private static LmTokenizer load(TokenizerSpec spec, String name) throws Exception {
        PreTokenizer pre = spec.preTokenizer();
        Map<String, Long> counts = new HashMap<>();
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.PROSE, 1);
        for (int i = 0; i < 100; i++) {
            pre.words(corpus.document(i)).forEach(w -> counts.merge(w, 1L, Long::sum));
        }
        Path out = Files.createDirectories(dir.resolve(name));
        for (Map.Entry<String, byte[]> f :
                TokenizerTrainer.train(spec, counts).files().entrySet()) {
            Files.write(out.resolve(f.getKey()), f.getValue());
        }
        return LmTokenizer.fromJson(
                Files.readAllBytes(out.resolve(TrainedTokenizer.TOKENIZER_JSON)));
    }

    /** {@code [CLS] A [SEP] (B [SEP])}, built here by hand: ids, types, special mask. */
    private static long[][] byHand(String a, String b) {
        int cls = tokenizer.specials().cls();
        int sep = tokenizer.specials().sep();
        int[] ia = tokenizer.encode(a).ids();
        int[] ib = b == null ? new int[0] : tokenizer.encode(b).ids();
        int n = ia.length + 2 + (b == null ? 0 : ib.length + 1);
        long[] ids = new long[n];
        long[] types = new long[n];
        long[] special = new long[n];
        int at = 0;
        ids[at] = cls;
        special[at++] = 1;
        for (int id : ia) {
            ids[at++] = id;
        }
        ids[at] = sep;
        special[at++] = 1;
        if (b != null) {
            for (int id : ib) {
                types[at] = 1;
                ids[at++] = id;
            }
            types[at] = 1;
            ids[at] = sep;
            special[at] = 1;
        }
        return new long[][] {ids, types, special};
    }

    private static Masker masker(MaskingConfig config) {
        return new Masker(
                config, tokenizer.specials().mask(), tokenizer.vocabSize(), tokenizer.specialIds());
    }

    /** The loss computed from the parts: hand encoding, the data-prep masker, {@code loss}. */
    private static float lossByHand(
            NDManager s, String a, String b, Integer nspLabel, long seed, float wm, float wn) {
        long[][] e = byHand(a, b);
        Shape shape = new Shape(1, e[0].length);
        NDArray ids = s.create(e[0], shape);
        NDArray mask = s.ones(shape, DataType.INT64);
        NDArray[] masked =
                BertForPretraining.createMaskedLmInputs(
                        ids, mask, s.create(e[2], shape), masker(MaskingConfig.defaults(80)), seed);
        assertTrue(masked[1].neq(-100).sum().getLong() > 0, "something is predicted");
        NDArray nsp = nspLabel == null ? null : s.create(new long[] {nspLabel});
        return model.loss(
                        masked[1],
                        nsp,
                        BertInputs.of(masked[0], mask, s.create(e[1], shape)),
                        wm,
                        wn,
                        -100,
                        Reduction.MEAN)
                .getFloat();
    }

    @Test
    void equalsTheLossOfTheSameEncodingAndMasking() {
        try (NDManager s = m.newSubManager()) {
            TextLossOptions o = TextLossOptions.defaults().withSeed(5).withMaxLength(64);
            float loss = model.lossFromText(s, tokenizer, A, B, 0, o).getFloat();
            assertTrue(Float.isFinite(loss) && loss > 0, "loss " + loss);
            assertEquals(lossByHand(s, A, B, 0, 5, 1, 1), loss, 1e-6);
            // B random instead of following: only the NSP term changes.
            float random = model.lossFromText(s, tokenizer, A, B, 1, o).getFloat();
            assertEquals(lossByHand(s, A, B, 1, 5, 1, 1), random, 1e-6);
            assertNotEquals(loss, random);
            float weighted =
                    model.lossFromText(s, tokenizer, A, B, 0, o.withWeights(2f, 0.5f)).getFloat();
            assertEquals(lossByHand(s, A, B, 0, 5, 2f, 0.5f), weighted, 1e-5);
            assertNotEquals(loss, weighted, 1e-3);
        }
    }

    @Test
    void aSingleSegmentSkipsTheNspTerm() {
        try (NDManager s = m.newSubManager()) {
            TextLossOptions o =
                    TextLossOptions.defaults().withSeed(9).withMaxLength(64).withWeights(3f, 1f);
            float loss = model.lossFromText(s, tokenizer, A, null, 0, o).getFloat();
            float mlmOnly = lossByHand(s, A, null, null, 9, 1f, 0f);
            assertTrue(mlmOnly > 0);
            assertEquals(3f * mlmOnly, loss, 1e-5);
            // The label is not used without a B.
            assertEquals(loss, model.lossFromText(s, tokenizer, A, null, 1, o).getFloat());
        }
    }

    @Test
    void theSeedDecidesTheMasking() {
        try (NDManager s = m.newSubManager()) {
            TextLossOptions o = TextLossOptions.defaults().withMaxLength(64);
            float first = model.lossFromText(s, tokenizer, A, B, 0, o.withSeed(1)).getFloat();
            float again = model.lossFromText(s, tokenizer, A, B, 0, o.withSeed(1)).getFloat();
            float other = model.lossFromText(s, tokenizer, A, B, 0, o.withSeed(2)).getFloat();
            assertEquals(first, again);
            assertNotEquals(first, other);
            BertTextBatch batch = BertTextBatch.encode(tokenizer, List.of(A), List.of(B), 64, s);
            Masker masker = masker(o.masking());
            long[][] labels = new long[2][];
            for (int seed = 1; seed <= 2; seed++) {
                labels[seed - 1] =
                        BertForPretraining.createMaskedLmInputs(
                                batch.inputIds(),
                                batch.attentionMask(),
                                batch.specialTokensMask(),
                                batch.wordStart(),
                                masker,
                                seed)[1]
                                .toLongArray();
            }
            assertFalse(Arrays.equals(labels[0], labels[1]), "different seeds mask differently");
        }
    }

    @Test
    void encodesPairsAsDataPrepDoesAndTruncatesLongestFirst() {
        try (NDManager s = m.newSubManager()) {
            long[][] e = byHand(A, B);
            BertTextBatch full = BertTextBatch.encode(tokenizer, List.of(A), List.of(B), 64, s);
            assertArrayEquals(e[0], full.inputIds().toLongArray());
            assertArrayEquals(e[1], full.tokenTypeIds().toLongArray());
            assertArrayEquals(e[2], full.specialTokensMask().toLongArray());

            int la = tokenizer.encode(A).length();
            int lb = tokenizer.encode(B).length();
            int max = 13; // 10 content tokens: both segments keep 5, their first 5
            BertTextBatch cut = BertTextBatch.encode(tokenizer, List.of(A), List.of(B), max, s);
            assertTrue(la > 5 && lb > 5);
            long[] ids = cut.inputIds().toLongArray();
            long[] expected = new long[max];
            System.arraycopy(e[0], 0, expected, 0, 6); // [CLS] and A's first 5
            expected[6] = tokenizer.specials().sep();
            System.arraycopy(e[0], la + 2, expected, 7, 5); // B's first 5
            expected[12] = tokenizer.specials().sep();
            assertArrayEquals(expected, ids);
            // A batch pads to its longest row and marks the padding.
            BertTextBatch two =
                    BertTextBatch.encode(tokenizer, List.of(A, "the boats"), null, 64, s);
            assertEquals(new Shape(2, la + 2), two.inputIds().getShape());
            long[] mask = two.attentionMask().toLongArray();
            int shortRow = tokenizer.encode("the boats").length() + 2;
            for (int i = 0; i < la + 2; i++) {
                assertEquals(i < shortRow ? 1 : 0, mask[la + 2 + i]);
            }
        }
    }

    @Test
    void aBatchIsTheLossOfItsEncodingAndMasking() {
        try (NDManager s = m.newSubManager()) {
            List<String> as = List.of(A, "The children watch the boats.");
            List<String> bs = List.of(B, "The baker walks home.");
            TextLossOptions o =
                    TextLossOptions.defaults()
                            .withMaxLength(64)
                            .withSeed(4)
                            .withReduction(Reduction.SUM);
            float loss = model.lossFromText(s, tokenizer, as, bs, new int[] {0, 1}, o).getFloat();
            BertTextBatch batch = BertTextBatch.encode(tokenizer, as, bs, 64, s);
            NDArray[] masked =
                    BertForPretraining.createMaskedLmInputs(
                            batch.inputIds(),
                            batch.attentionMask(),
                            batch.specialTokensMask(),
                            batch.wordStart(),
                            masker(o.masking()),
                            4);
            float expected =
                    model.loss(
                                    masked[1],
                                    s.create(new long[] {0, 1}),
                                    BertInputs.of(
                                            masked[0], batch.attentionMask(), batch.tokenTypeIds()),
                                    1,
                                    1,
                                    -100,
                                    Reduction.SUM)
                            .getFloat();
            assertTrue(Float.isFinite(loss) && loss > 0);
            assertEquals(expected, loss, 1e-4);
        }
    }

    private static String refusal(Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void badInputIsRefusedNamingTheValueAndTheFix() {
        try (NDManager s = m.newSubManager()) {
            TextLossOptions o = TextLossOptions.defaults().withMaxLength(64);
            String empty = refusal(() -> model.lossFromText(s, tokenizer, "", B, 0, o));
            assertTrue(empty.contains("text A of example 0 (\"\") has no tokens"), empty);
            assertTrue(empty.contains("give it some text"), empty);
            String emptyB = refusal(() -> model.lossFromText(s, tokenizer, A, "  ", 0, o));
            assertTrue(emptyB.contains("text B") && emptyB.contains("null"), emptyB);
            String shortPair =
                    refusal(() -> model.lossFromText(s, tokenizer, A, B, 0, o.withMaxLength(4)));
            assertEquals(
                    "maxLength 4 is too short for [CLS] A [SEP] B [SEP]; use at least 5",
                    shortPair);
            String tooShort = refusal(() -> o.withMaxLength(2));
            assertTrue(tooShort.contains("maxLength 2") && tooShort.contains("at least 3"));
            String positions =
                    refusal(() -> model.lossFromText(s, tokenizer, A, B, 0, o.withMaxLength(65)));
            assertTrue(positions.contains("max_positions 64"), positions);
            assertTrue(positions.contains("use maxLength at most 64"), positions);
            String label = refusal(() -> model.lossFromText(s, tokenizer, A, B, 2, o));
            assertTrue(label.contains("nspLabel 2"), label);
            String gpt = refusal(() -> model.lossFromText(s, bpe, A, B, 0, o));
            assertTrue(gpt.contains("the tokenizer has no [") && gpt.contains("wordpiece"), gpt);
        }
    }
}
