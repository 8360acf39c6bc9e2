package dev.lmspark.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.collate.Example;
import dev.lmspark.data.collate.ExampleAssembler;
import dev.lmspark.data.collate.Seq2SeqRows;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.MaskedLm;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Iterative unmasking (XLM's {@code MLMPredictor}) on a tiny random-weight BERT and a real
 * WordPiece tokenizer: the schedule's counts per step, no mask left at the end, confidence order,
 * conditional generation keeping its prompt (in the layout of seq2seq prediction rows), batched
 * left-padded rows independent of their neighbours, seeds, history files, and flat memory.
 */
class IterativeUnmaskingTest {
    static LmTokenizer tok;
    static int mask;
    static NDManager manager;
    static BertForPretraining model;
    static Device device;

    @BeforeAll
    static void setUp() {
        tok = Tokenizers.wordPiece();
        mask = tok.specials().mask();
        device = Devices.forTask(null);
        manager = NDManager.newBaseManager(device, Devices.ENGINE);
        model =
                BertForPretraining.initialize(
                        ModelConfig.preset("bert-tiny").withVocabSize(tok.vocabSize()),
                        manager,
                        11);
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    /** Records the masked count of each row at every model call. */
    static final class Recording implements TokenScorer {
        final TokenScorer inner;
        final List<long[]> calls = new ArrayList<>();
        int t;

        Recording(TokenScorer inner) {
            this.inner = inner;
        }

        @Override
        public NDArray scores(NDArray ids, NDArray attentionMask, NDArray positionIds) {
            calls.add(ids.toLongArray());
            t = (int) ids.getShape().get(1);
            return inner.scores(ids, attentionMask, positionIds);
        }

        int maskedAt(int call, int row) {
            int n = 0;
            for (int i = 0; i < t; i++) {
                n += calls.get(call)[row * t + i] == mask ? 1 : 0;
            }
            return n;
        }
    }

    static IterativeUnmasking.Builder builder() {
        return IterativeUnmasking.builder().setModel(model).setTokenizer(tok);
    }

    @Test
    void eachStepUnmasksWhatTheScheduleSaysAndNoMaskIsLeft() {
        for (NoiseSchedule schedule : NoiseSchedule.values()) {
            for (int[] case_ : new int[][] {{13, 5}, {3, 6}, {7, 1}}) {
                int n = case_[0];
                int steps = case_[1];
                Recording rec = new Recording(IterativeUnmaskingTest::uniform);
                List<Generated> out =
                        IterativeUnmasking.builder()
                                .setModel(rec, device)
                                .setTokenizer(tok)
                                .setMaxSteps(steps)
                                .optMaxNewTokens(n)
                                .optNoiseSchedule(schedule)
                                .build()
                                .unconditional(2);
                assertEquals(steps, rec.calls.size(), schedule + " one model call per step");
                for (int r = 0; r < 2; r++) {
                    int m = n;
                    for (int k = 0; k < steps; k++) {
                        assertEquals(m, rec.maskedAt(k, r), schedule + " before step " + (k + 1));
                        m = schedule.stillMasked(m, k, steps);
                    }
                    Generated g = out.get(r);
                    assertEquals(n, g.ids().length);
                    assertEquals(0, g.outputStart());
                    assertFalse(Arrays.stream(g.ids()).anyMatch(id -> id == mask), "no mask left");
                }
            }
        }
    }

    @Test
    void confidenceOrderUnmasksTheMostLikelyPositionsFirst() {
        int v = tok.vocabSize();
        // Position p puts score p + 1 on token 10 + p: later positions are more sure of their
        // token.
        TokenScorer sure =
                (ids, attentionMask, positionIds) -> {
                    int b = (int) ids.getShape().get(0);
                    int t = (int) ids.getShape().get(1);
                    float[] s = new float[b * t * v];
                    for (int r = 0; r < b; r++) {
                        for (int p = 0; p < t; p++) {
                            s[(r * t + p) * v + 10 + p] = p + 1;
                        }
                    }
                    return ids.getManager().create(s, new Shape(b, t, v));
                };
        Recording rec = new Recording(sure);
        Generated g =
                IterativeUnmasking.builder()
                        .setModel(rec, device)
                        .setTokenizer(tok)
                        .setMaxSteps(4)
                        .optMaxNewTokens(8)
                        .optOrder(IterativeUnmasking.Order.CONFIDENCE)
                        .optSampler(TokenSampler.GREEDY)
                        .build()
                        .unconditional(1)
                        .get(0);
        // Linear, 8 masks in 4 steps: 2 per step, from the end backwards.
        for (int k = 1; k < 4; k++) {
            long[] ids = rec.calls.get(k);
            for (int p = 0; p < 8; p++) {
                assertEquals(p < 8 - 2 * k ? mask : 10 + p, ids[p], "step " + k + " position " + p);
            }
        }
        assertArrayEquals(new int[] {10, 11, 12, 13, 14, 15, 16, 17}, g.ids());
    }

    @Test
    void conditionalGenerationKeepsThePromptInTheLayoutOfPredictionRows() {
        String prompt = "the old river runs through the town";
        IterativeUnmasking gen = builder().setMaxSteps(3).optMaxNewTokens(6).build();
        Generated g = gen.generate(prompt);
        int[] row = real(predictRow(prompt, 32));
        assertEquals(row.length, g.outputStart());
        assertArrayEquals(row, Arrays.copyOf(g.ids(), row.length), "the prompt is unchanged");
        assertEquals(row.length + 6, g.ids().length);
        assertFalse(Arrays.stream(g.ids()).anyMatch(id -> id == mask));
        assertEquals(tok.decode(g.outputIds(), true), g.outputText());
        assertEquals(tok.decode(g.ids(), true), g.text());
        assertFalse(g.text().contains("[CLS]"));
        Generated kept =
                builder()
                        .setMaxSteps(3)
                        .optMaxNewTokens(6)
                        .optSkipSpecialTokens(false)
                        .build()
                        .generate(prompt);
        assertTrue(kept.text().startsWith("[CLS]"), kept.text());
        assertArrayEquals(g.ids(), kept.ids(), "decoding changes nothing else");
    }

    @Test
    void drivesTheRotaryMaskedLmWithLeftPaddedRows() {
        try (NDManager m = manager.newSubManager()) {
            MaskedLm rotary =
                    MaskedLm.initialize(
                            new ModelConfig(
                                    "rotary-mlm",
                                    tok.vocabSize(),
                                    32,
                                    2,
                                    2,
                                    64,
                                    64,
                                    "rotary",
                                    0,
                                    false,
                                    true,
                                    "layernorm",
                                    1e-5,
                                    "gelu",
                                    true,
                                    0.0,
                                    10000,
                                    false,
                                    0.02),
                            m,
                            5);
            int[][] rows = {predictRow("a tall tree", 12), predictRow("the merchant sold", 12)};
            int[][] masks = new int[2][12];
            for (int r = 0; r < 2; r++) {
                int pads = 12 - real(rows[r]).length;
                for (int i = 0; i < 12; i++) {
                    masks[r][i] = i < pads ? 0 : 1;
                }
            }
            IterativeUnmasking gen =
                    IterativeUnmasking.builder()
                            .setModel(rotary)
                            .setTokenizer(tok)
                            .setMaxSteps(3)
                            .optMaxNewTokens(4)
                            .optSeed(3)
                            .build();
            List<Generated> both = gen.predict(rows, masks, new long[] {7, 8});
            List<Generated> alone =
                    gen.predict(new int[][] {rows[0]}, new int[][] {masks[0]}, new long[] {7});
            // A left-padded row does not depend on its neighbour in the batch.
            assertArrayEquals(both.get(0).ids(), alone.get(0).ids());
            for (Generated g : both) {
                assertEquals(16, g.ids().length);
                assertFalse(Arrays.stream(g.outputIds()).anyMatch(id -> id == mask));
            }
        }
    }

    @Test
    void batchedRowsDoNotDependOnTheirNeighbours() {
        int[][] rows = {
            predictRow("a tall tree", 12),
            predictRow("the merchant sold bread in the square", 12),
            predictRow("rain", 12)
        };
        int[][] masks = new int[3][12];
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 12; i++) {
                masks[r][i] =
                        rows[r][i] == tok.specials().pad() && i < 12 - real(rows[r]).length ? 0 : 1;
            }
        }
        IterativeUnmasking gen = builder().setMaxSteps(4).optMaxNewTokens(5).optSeed(9).build();
        List<Generated> all = gen.predict(rows, masks, new long[] {100, 101, 102});
        List<Generated> alone =
                gen.predict(new int[][] {rows[1]}, new int[][] {masks[1]}, new long[] {101});
        List<Generated> swapped =
                gen.predict(
                        new int[][] {rows[2], rows[1]},
                        new int[][] {masks[2], masks[1]},
                        new long[] {102, 101});
        assertArrayEquals(all.get(1).ids(), alone.get(0).ids());
        assertArrayEquals(all.get(1).ids(), swapped.get(1).ids());
        assertArrayEquals(all.get(2).ids(), swapped.get(0).ids());
        for (int r = 0; r < 3; r++) {
            assertEquals(12, all.get(r).outputStart());
            assertArrayEquals(rows[r], Arrays.copyOf(all.get(r).ids(), 12), "input unchanged");
        }
        List<Generated> otherKey =
                gen.predict(new int[][] {rows[1]}, new int[][] {masks[1]}, new long[] {5});
        assertFalse(Arrays.equals(all.get(1).ids(), otherKey.get(0).ids()));
        Generated otherSeed =
                builder()
                        .setMaxSteps(4)
                        .optMaxNewTokens(5)
                        .optSeed(10)
                        .build()
                        .predict(new int[][] {rows[1]}, new int[][] {masks[1]}, new long[] {101})
                        .get(0);
        assertFalse(Arrays.equals(all.get(1).ids(), otherSeed.ids()));
    }

    @Test
    void historyFilesHoldEachStepsTopK() throws Exception {
        Map<String, byte[]> files = new TreeMap<>();
        builder()
                .setMaxSteps(3)
                .optMaxNewTokens(5)
                .optHistory(files::put, 4)
                .build()
                .predict(new int[][] {{}}, null, new long[] {42});
        assertEquals(
                List.of("row-42/step-1.jsonl", "row-42/step-2.jsonl", "row-42/step-3.jsonl"),
                new ArrayList<>(files.keySet()));
        int[] stillMasked = {4, 2, 0}; // ⌊5/3⌋ = 1, ⌊4/2⌋ = 2, then the last 2
        ObjectMapper json = new ObjectMapper();
        for (int k = 1; k <= 3; k++) {
            String[] lines =
                    new String(files.get("row-42/step-" + k + ".jsonl"), StandardCharsets.UTF_8)
                            .split("\n");
            assertEquals(5, lines.length);
            int masked = 0;
            for (int i = 0; i < 5; i++) {
                JsonNode line = json.readTree(lines[i]);
                assertEquals(1, line.path("format_version").asInt());
                assertEquals(42, line.path("row").asLong());
                assertEquals(k, line.path("step").asInt());
                assertEquals(i, line.path("position").asInt());
                masked += line.path("token").asInt() == mask ? 1 : 0;
                assertEquals(4, line.path("top_ids").size());
                double previous = 1;
                double sum = 0;
                for (JsonNode p : line.path("top_probs")) {
                    assertTrue(p.asDouble() <= previous + 1e-7, "descending");
                    previous = p.asDouble();
                    sum += previous;
                }
                assertTrue(sum <= 1 + 1e-5);
            }
            assertEquals(stillMasked[k - 1], masked, "masked after step " + k);
        }
    }

    @Test
    void memoryStaysFlat() {
        int before = manager.getManagedArrays().size();
        builder().setMaxSteps(6).optMaxNewTokens(6).build().unconditional(2);
        builder()
                .setMaxSteps(3)
                .optMaxNewTokens(3)
                .optOrder(IterativeUnmasking.Order.CONFIDENCE)
                .optHistory((path, bytes) -> {}, 3)
                .build()
                .generate("a town");
        assertEquals(before, manager.getManagedArrays().size());
        // The count does see what a forward pass outside a scope leaves behind.
        try (NDManager inputs = NDManager.newBaseManager(device, Devices.ENGINE)) {
            NDArray scores =
                    TokenScorer.of(model)
                            .scores(
                                    inputs.ones(new Shape(1, 3)),
                                    inputs.ones(new Shape(1, 3)),
                                    inputs.zeros(new Shape(1, 3)));
            assertTrue(manager.getManagedArrays().size() > before);
            scores.close();
        }
    }

    @Test
    void badOptionsAreNamed() {
        assertTrue(
                assertThrows(IllegalArgumentException.class, () -> builder().setMaxSteps(0).build())
                        .getMessage()
                        .contains("max steps 0"));
        assertTrue(
                assertThrows(
                                IllegalArgumentException.class,
                                () -> builder().setMaxSteps(2).optMaxNewTokens(-1).build())
                        .getMessage()
                        .contains("max new tokens -1"));
        assertTrue(
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        builder()
                                                .setTokenizer(Tokenizers.bpe())
                                                .setMaxSteps(2)
                                                .build())
                        .getMessage()
                        .contains("[MASK]"));
        IterativeUnmasking gen = builder().setMaxSteps(2).build();
        assertTrue(
                assertThrows(
                                IllegalArgumentException.class,
                                () -> gen.predict(new int[][] {{2, 3}, {2}}, null, null))
                        .getMessage()
                        .contains("row 1 has 1 tokens"));
        assertThrows(IllegalStateException.class, () -> gen.unconditional(1));
    }

    /** Equal scores for every token: each draw is uniform over the vocabulary but [MASK]. */
    static NDArray uniform(NDArray ids, NDArray attentionMask, NDArray positionIds) {
        return ids.getManager().zeros(ids.getShape().add(tok.vocabSize()));
    }

    /** A seq2seq prediction row as data-prep writes it: {@code [CLS] prefix [SEP]}, left-padded. */
    static int[] predictRow(String prefix, int maxLength) {
        SpecialTokenIds s = tok.specials();
        ExampleAssembler right =
                new ExampleAssembler(
                        maxLength, false, s.pad(), tok.specialIds(), s.cls(), s.sep(), null);
        ExampleAssembler left =
                new ExampleAssembler(
                        maxLength, true, s.pad(), tok.specialIds(), s.cls(), s.sep(), null);
        Example e =
                new Seq2SeqRows(right, left, s.cls(), s.sep(), s.mask())
                        .predict(tok.encode(prefix).ids(), new int[0], 0)
                        .example();
        int[] ids = e.inputIds();
        for (int i = 0; i < ids.length; i++) {
            if (e.attentionMask()[i] == 0) {
                assertEquals(s.pad(), ids[i]);
            }
        }
        return ids;
    }

    /** The row without its left padding. */
    static int[] real(int[] row) {
        int pad = tok.specials().pad();
        int from = 0;
        while (from < row.length && row[from] == pad) {
            from++;
        }
        return Arrays.copyOfRange(row, from, row.length);
    }
}
