package dev.lmspark.spark.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.jobs.PrepareFixture;
import dev.lmspark.spark.SharedSpark;
import dev.lmspark.spark.data.DatasetColumns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Each stage on its own, on a DataFrame of a few hand-made rows, against the exact rows it must
 * give: its typed getters and shared params as set, its output columns value by value. (The stages
 * composed, on real corpora: {@code PrepareJobTest}.)
 */
@ExtendWith(SharedSpark.class)
class StagesTest {
    /** The committed training datasets' tokenizers: WordPiece (BERT specials), byte-level BPE. */
    static final Path WORDPIECE = Path.of("src/test/resources/fixtures/train/mlm/tokenizer");

    static final Path BPE = Path.of("src/test/resources/fixtures/train/clm/tokenizer");

    static LmTokenizer wordpiece;
    static LmTokenizer bpe;

    @BeforeAll
    static void tokenizers() throws IOException {
        wordpiece = LmTokenizer.fromJson(Files.readAllBytes(WORDPIECE.resolve("tokenizer.json")));
        bpe = LmTokenizer.fromJson(Files.readAllBytes(BPE.resolve("tokenizer.json")));
    }

    static Dataset<Row> frame(StructType schema, Row... rows) {
        return SharedSpark.session().createDataFrame(Arrays.asList(rows), schema);
    }

    /** The rows of {@code df} by (split, doc_id, seq). */
    static List<Row> sorted(Dataset<Row> df) {
        return df.collectAsList().stream()
                .sorted(
                        Comparator.comparing((Row r) -> r.getString(r.fieldIndex("split")))
                                .thenComparing(r -> r.getLong(r.fieldIndex("doc_id")))
                                .thenComparing(r -> r.getLong(r.fieldIndex("seq"))))
                .toList();
    }

    static int[] ints(Row r, String column) {
        return PrepareFixture.ints(r, column);
    }

    static byte[] bytes(Row r, String column) {
        return PrepareFixture.bytes(r, column);
    }

    static final StructType TEXT =
            new StructType()
                    .add("split", DataTypes.StringType, false)
                    .add("doc_id", DataTypes.LongType, false)
                    .add("text", DataTypes.StringType, false);

    static final StructType TOKENS =
            new StructType()
                    .add("split", DataTypes.StringType, false)
                    .add("doc_id", DataTypes.LongType, false)
                    .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                    .add(
                            "tokens_word_start",
                            DataTypes.createArrayType(DataTypes.BooleanType, false),
                            false);

    @Test
    void tokenizeGivesTheTokenizersIdsAndWordStartsPerDocumentOrPerSentence() {
        String a = "The river runs. It is cold!";
        String b = "A town.";
        TokenizeStage stage =
                new TokenizeStage().setTokenizer(WORDPIECE.toString()).setOutputCol("ids");
        assertEquals("text", stage.getInputCol());
        assertEquals("ids", stage.getOutputCol());
        assertEquals(false, stage.getSentences());
        assertEquals(WORDPIECE.toString(), stage.getTokenizer());
        List<Row> out =
                stage.transform(
                                frame(
                                        TEXT,
                                        RowFactory.create("train", 0L, a),
                                        RowFactory.create("train", 1L, b)))
                        .orderBy("doc_id")
                        .collectAsList();
        assertEquals(2, out.size());
        for (int i = 0; i < 2; i++) {
            LmTokenizer.Encoded e = wordpiece.encode(i == 0 ? a : b);
            assertArrayEquals(e.ids(), ints(out.get(i), "ids"));
            List<Boolean> starts = out.get(i).getList(out.get(i).fieldIndex("ids_word_start"));
            for (int k = 0; k < e.ids().length; k++) {
                assertEquals(e.wordStart()[k], starts.get(k));
            }
        }
        // By sentence: one id array per sentence of the document.
        Row doc =
                new TokenizeStage()
                        .setTokenizer(WORDPIECE.toString())
                        .setSentences(true)
                        .setOutputCol("sentences")
                        .transform(frame(TEXT, RowFactory.create("train", 0L, a)))
                        .first();
        int[][] sentences = Sequences.intArrays(doc, doc.fieldIndex("sentences"));
        assertArrayEquals(
                new int[][] {
                    wordpiece.encode("The river runs.").ids(), wordpiece.encode("It is cold!").ids()
                },
                sentences);
        assertThrows(
                IllegalArgumentException.class,
                () -> stage.transformSchema(new StructType().add("x", DataTypes.StringType)),
                "a missing input column is refused before any data moves");
    }

    static Row tokens(String split, long doc, int... ids) {
        boolean[] starts = new boolean[ids.length];
        Arrays.fill(starts, true);
        return RowFactory.create(split, doc, ids, starts);
    }

    @Test
    void causalPackingLaysEachSplitsDocumentsEndToEndWithEosAndCutsWindows() {
        int eos = bpe.specials().eos();
        PackStage stage =
                new PackStage().setTokenizer(BPE.toString()).setMode("causal").setMaxLength(4);
        assertEquals("causal", stage.getMode());
        assertEquals(4, stage.getMaxLength());
        assertEquals("tokens", stage.getInputCol());
        List<Row> out =
                sorted(
                        stage.transform(
                                frame(
                                        TOKENS,
                                        tokens("train", 1L, 20, 21),
                                        tokens("train", 0L, 10, 11, 12),
                                        tokens("validation", 5L, 30))));
        // train: 10 11 12 EOS | 20 21 EOS — the second window starts with document 1.
        assertEquals(3, out.size());
        assertWindow(out.get(0), "train", 0, 0, new int[] {10, 11, 12, eos});
        assertWindow(out.get(1), "train", 1, 1, new int[] {20, 21, eos});
        assertWindow(out.get(2), "validation", 5, 0, new int[] {30, eos});

        // One document per example instead: a long one takes several windows.
        List<Row> docs =
                sorted(
                        new PackStage()
                                .setTokenizer(BPE.toString())
                                .setMode("documents")
                                .setMaxLength(4)
                                .transform(
                                        frame(
                                                TOKENS,
                                                tokens("train", 0L, 10, 11, 12, 13, 14),
                                                tokens("train", 1L, 20))));
        assertEquals(3, docs.size());
        assertWindow(docs.get(0), "train", 0, 0, new int[] {10, 11, 12, 13});
        assertWindow(docs.get(1), "train", 0, 1, new int[] {14, eos});
        assertWindow(docs.get(2), "train", 1, 0, new int[] {20, eos});
    }

    static void assertWindow(Row r, String split, long doc, long seq, int[] ids) {
        assertEquals(split, r.getString(r.fieldIndex("split")));
        assertEquals(doc, r.getLong(r.fieldIndex("doc_id")));
        assertEquals(seq, r.getLong(r.fieldIndex("seq")));
        assertArrayEquals(ids, ints(r, "ids"));
    }

    static Row sequence(String split, long doc, long seq, int... ids) {
        return Sequences.row(split, doc, seq, ids, null, null, null);
    }

    @Test
    void causalPaddingLabelsTheRealTokensAndPadsEitherSide() {
        int eos = bpe.specials().eos();
        int pad = bpe.specials().padOrEos();
        PadStage right = new PadStage().setTokenizer(BPE.toString()).setCausal(true);
        right.setMaxLength(6);
        assertEquals(6, right.getMaxLength());
        assertEquals("right", right.getPaddingSide());
        assertEquals(true, right.getCausal());
        assertEquals(false, right.getNsp());
        Row r =
                right.transform(frame(Sequences.SCHEMA, sequence("train", 3L, 7L, 10, 11, eos)))
                        .first();
        assertEquals(3L, r.getLong(r.fieldIndex("doc_id")));
        assertEquals(7L, r.getLong(r.fieldIndex("seq")));
        assertArrayEquals(
                new int[] {10, 11, eos, pad, pad, pad}, ints(r, DatasetColumns.INPUT_IDS));
        assertArrayEquals(new byte[] {1, 1, 1, 0, 0, 0}, bytes(r, DatasetColumns.ATTENTION_MASK));
        assertArrayEquals(new byte[6], bytes(r, DatasetColumns.TOKEN_TYPE_IDS));
        assertArrayEquals(
                new int[] {10, 11, eos, -100, -100, -100}, ints(r, DatasetColumns.LABELS));
        assertArrayEquals(
                new byte[] {0, 0, 1, 1, 1, 1}, bytes(r, DatasetColumns.SPECIAL_TOKENS_MASK));

        Row left =
                new PadStage()
                        .setTokenizer(BPE.toString())
                        .setCausal(true)
                        .setMaxLength(5)
                        .setPaddingSide("left")
                        .transform(frame(Sequences.SCHEMA, sequence("train", 0L, 0L, 10, eos)))
                        .first();
        assertArrayEquals(new int[] {pad, pad, pad, 10, eos}, ints(left, "input_ids"));
        assertArrayEquals(new byte[] {0, 0, 0, 1, 1}, bytes(left, "attention_mask"));
        assertArrayEquals(new int[] {-100, -100, -100, 10, eos}, ints(left, "labels"));
    }

    @Test
    void maskingIsMaskersChoiceKeyedOnSeedDocumentAndSequence() {
        MaskingConfig config =
                new MaskingConfig(MaskingConfig.Strategy.FIXED_COUNT, 0.3, 0.8, 0.1, 3, false);
        MaskStage stage =
                new MaskStage().setTokenizer(WORDPIECE.toString()).setConfig(config).setSeed(7);
        assertEquals(config, stage.config());
        assertEquals(7L, stage.getSeed());
        assertEquals("fixed-count", stage.getStrategy());
        assertEquals(0.3, stage.getMlmProbability());
        assertEquals(3, stage.getMaxPredictions());
        int cls = wordpiece.specials().cls();
        int sep = wordpiece.specials().sep();
        int[][] ids = {
            {cls, 100, 101, 102, 103, 104, 105, 106, 107, sep},
            {cls, 200, 201, 202, sep},
        };
        long[][] keys = {{4L, 0L}, {4L, 1L}};
        List<Row> out =
                sorted(
                        stage.transform(
                                frame(
                                        Sequences.SCHEMA,
                                        sequence("train", keys[0][0], keys[0][1], ids[0]),
                                        sequence("train", keys[1][0], keys[1][1], ids[1]))));
        BitSet special = wordpiece.specialIds();
        Masker masker =
                new Masker(config, wordpiece.specials().mask(), wordpiece.vocabSize(), special);
        for (int i = 0; i < 2; i++) {
            boolean[] isSpecial = new boolean[ids[i].length];
            boolean[] starts = new boolean[ids[i].length];
            for (int k = 0; k < ids[i].length; k++) {
                isSpecial[k] = special.get(ids[i][k]);
                starts[k] = true;
            }
            Masker.Result expected =
                    masker.mask(
                            ids[i],
                            isSpecial,
                            starts,
                            Seeds.random(7, MaskStage.STREAM, keys[i][0], keys[i][1]));
            Row r = out.get(i);
            assertArrayEquals(ids[i], ints(r, "ids"), "the sequence itself is kept");
            assertArrayEquals(expected.inputIds(), ints(r, "input_ids"));
            assertArrayEquals(expected.labels(), ints(r, "labels"));
            int predicted = 0;
            for (int k = 0; k < ids[i].length; k++) {
                if (expected.labels()[k] != Masker.IGNORE) {
                    predicted++;
                    assertEquals(ids[i][k], expected.labels()[k], "a label is the original id");
                }
            }
            // fixed-count: min(3, max(1, round(n × 0.3))) of the n non-special tokens.
            assertEquals(i == 0 ? 2 : 1, predicted);
        }
    }
}
