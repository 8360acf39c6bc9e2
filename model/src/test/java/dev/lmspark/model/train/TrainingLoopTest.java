package dev.lmspark.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.collate.Segment;
import dev.lmspark.data.collate.SentencePacking;
import dev.lmspark.data.collate.SentenceSplitter;
import dev.lmspark.data.corpus.SampleCorpus;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.PreTokenizer;
import dev.lmspark.data.tokenizer.TokenizerSpec;
import dev.lmspark.data.tokenizer.TokenizerTrainer;
import dev.lmspark.data.tokenizer.TokenizerType;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.task.BertForPretraining;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * MLM training of {@code bert-tiny} (the loss and determinism test) and {@code bert-mini} (the
 * memory test, slow suite) on the sample corpus through {@link TrainingStep}: a WordPiece tokenizer
 * trained in-process, masking by the data-prep {@link Masker}, dropout drawn from (seed, step),
 * AdamW with linear warm-up and decay, global-norm clipping. Each step's arrays live in an {@link
 * NDScope}; parameters and optimizer state outlive it.
 */
class TrainingLoopTest {
    static final int T = 64;
    static final int B = 8;

    private static LmTokenizer tokenizer;
    private static List<int[]> sequences;

    @BeforeAll
    static void corpus() {
        SampleCorpus corpus = new SampleCorpus(SampleCorpus.Kind.PROSE, 1);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            docs.add(corpus.document(i));
        }
        TokenizerSpec spec = new TokenizerSpec(TokenizerType.WORDPIECE, 2000, true, 2);
        PreTokenizer pre = spec.preTokenizer();
        Map<String, Long> counts = new HashMap<>();
        docs.forEach(d -> pre.words(d).forEach(w -> counts.merge(w, 1L, Long::sum)));
        TrainedTokenizer trained = TokenizerTrainer.train(spec, counts);
        tokenizer = LmTokenizer.fromJson(trained.files().get(TrainedTokenizer.TOKENIZER_JSON));
        sequences = new ArrayList<>();
        for (String doc : docs) {
            List<Segment> sentences = new ArrayList<>();
            for (LmTokenizer.Encoded e : tokenizer.encode(SentenceSplitter.split(doc))) {
                sentences.add(new Segment(e.ids(), e.wordStart()));
            }
            for (Segment chunk : SentencePacking.pack(sentences, T - 2).chunks()) {
                int[] ids = new int[chunk.length() + 2];
                ids[0] = 2;
                System.arraycopy(chunk.ids(), 0, ids, 1, chunk.length());
                ids[ids.length - 1] = 3;
                sequences.add(ids);
            }
        }
    }

    /** What a run saw: the loss of every step, and the resident size after it (kB). */
    record Run(float[] losses, long[] residentKb) {
        double meanLoss(int from, int to) {
            double sum = 0;
            for (int i = from; i < to; i++) {
                sum += losses[i];
            }
            return sum / (to - from);
        }
    }

    /** {@code steps} training steps of a fresh bert-mini drawn from {@code seed}. */
    static Run train(int steps, long seed) throws IOException {
        return train("bert-mini", steps, steps, seed);
    }

    /**
     * The first {@code steps} steps of a run whose learning-rate schedule spans {@code
     * scheduleSteps}.
     */
    static Run train(String preset, int steps, int scheduleSteps, long seed) throws IOException {
        int vocab = tokenizer.vocabSize();
        Masker masker = new Masker(MaskingConfig.defaults(10), 4, vocab, tokenizer.specialIds());
        ModelConfig config = ModelConfig.preset(preset).withVocabSize(vocab).withMaxPositions(T);
        float[] losses = new float[steps];
        long[] resident = new long[steps];
        try (NDManager manager = NDManager.newBaseManager(Devices.forTask(null), Devices.ENGINE)) {
            BertForPretraining model = BertForPretraining.initialize(config, manager, seed);
            LearningRateSchedule lr =
                    new LearningRateSchedule(
                            LearningRateSchedule.Kind.LINEAR, 1e-3, 50, scheduleSteps);
            try (TrainingStep trainer =
                    TrainingStep.builder()
                            .setModel(model)
                            .setSchedule(lr)
                            .optClipNorm(1f)
                            .optWeightDecay(0.01f)
                            .build(manager)) {
                for (int step = 0; step < steps; step++) {
                    StepResult r =
                            trainer.step(
                                    List.of(batch(masker, seed, step)),
                                    step,
                                    Seeds.random(seed, 11, step));
                    losses[step] = (float) r.loss();
                    resident[step] = residentKb();
                }
            }
        }
        return new Run(losses, resident);
    }

    /** Batch {@code step}: rows chosen and masked as functions of (seed, step, row). */
    private static ShardBatch batch(Masker masker, long seed, int step) {
        int[] ids = new int[B * T];
        byte[] mask = new byte[B * T];
        int[] labels = new int[B * T];
        Arrays.fill(labels, -100);
        for (int r = 0; r < B; r++) {
            int[] seq = sequences.get(Math.floorMod(Seeds.mix(seed, 3, step, r), sequences.size()));
            boolean[] special = new boolean[seq.length];
            for (int i = 0; i < seq.length; i++) {
                special[i] = tokenizer.isSpecial(seq[i]);
            }
            boolean[] starts = new boolean[seq.length];
            Arrays.fill(starts, true);
            Masker.Result m = masker.mask(seq, special, starts, Seeds.random(seed, 5, step, r));
            for (int i = 0; i < seq.length; i++) {
                ids[r * T + i] = m.inputIds()[i];
                mask[r * T + i] = 1;
                labels[r * T + i] = m.labels()[i];
            }
        }
        return new ShardBatch(B, T, ids, mask, null, labels, null);
    }

    /** This process's resident set size in kB (Linux), or -1 elsewhere. */
    static long residentKb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    @Test
    void trainingDrivesTheLossDownAndTheSameSeedGivesTheSameTrajectory() throws IOException {
        int steps = 150;
        // bert-tiny: the loop, not the model's size, is under test (bert-mini: the memory test).
        Run first = train("bert-tiny", steps, steps, 7);
        double start = first.meanLoss(0, 30);
        double end = first.meanLoss(steps - 30, steps);
        System.out.println("loss over 150 steps " + start + " -> " + end);
        assertTrue(end < start - 0.8, "loss " + start + " -> " + end + " (nats)");
        for (float loss : first.losses()) {
            assertTrue(Float.isFinite(loss), "a step's loss is " + loss);
        }
        // Bit for bit, every step: batches, masking, dropout and initialisation are functions of
        // the seed, and the kernels are deterministic. The first 60 steps (warm-up and decay)
        // again, with the same schedule.
        Run again = train("bert-tiny", 60, steps, 7);
        assertArrayEquals(java.util.Arrays.copyOf(first.losses(), 60), again.losses());
        Run other = train("bert-tiny", 5, 5, 8);
        assertTrue(other.losses()[0] != first.losses()[0], "another seed, another trajectory");
    }

    /**
     * 500 steps with a fixed heap (-Xms = -Xmx in the pom): the process's resident size after step
     * 500 is within 5% of that after step 50, so every step's native arrays are freed (with MKL's
     * buffer pool off, as the pom and the launcher set MKL_DISABLE_FAST_MM).
     */
    @Test
    @Tag("slow")
    void nativeMemoryStaysFlatOverFiveHundredSteps() throws IOException {
        assumeTrue(residentKb() > 0, "resident size is read from /proc (Linux)");
        int steps = 500;
        Run run = train(steps, 3);
        long at50 = run.residentKb()[49];
        long at500 = run.residentKb()[steps - 1];
        StringBuilder series = new StringBuilder();
        for (int s = 49; s < steps; s += 50) {
            series.append(" ").append(s + 1).append(":").append(run.residentKb()[s] / 1024);
        }
        System.out.println(
                "resident MB after step"
                        + series
                        + "; loss "
                        + run.meanLoss(0, 50)
                        + " -> "
                        + run.meanLoss(steps - 50, steps));
        assertTrue(
                at500 < at50 * 1.05,
                "resident size grew from " + at50 + " kB to " + at500 + " kB:" + series);
        assertTrue(
                run.meanLoss(steps - 50, steps) < run.meanLoss(0, 50) - 1.0,
                "loss " + run.meanLoss(0, 50) + " -> " + run.meanLoss(steps - 50, steps));
        assertEquals(steps, run.losses().length);
    }
}
