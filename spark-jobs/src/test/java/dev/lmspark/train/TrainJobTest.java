package dev.lmspark.train;

import static dev.lmspark.train.TrainFixture.latest;
import static dev.lmspark.train.TrainFixture.metrics;
import static dev.lmspark.train.TrainFixture.model;
import static dev.lmspark.train.TrainFixture.ok;
import static dev.lmspark.train.TrainFixture.train;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.model.Devices;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.spark.SharedSpark;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.Examples;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} end to end in {@code local[2,2]} (the pom gives these tests their own JVM): MLM+NSP
 * and CLM+FIM with 1, 2 and 3 workers, checkpoints and metrics as documented, bitwise
 * reproducibility (same seed, a retried task), exact resume and extension, and the refusals.
 */
@ExtendWith(SharedSpark.class)
class TrainJobTest {
    @TempDir static Path dir;
    static TrainFixture data;

    @BeforeAll
    static void datasets() {
        data = new TrainFixture(dir.resolve("data"));
    }

    @Test
    void mlmWithNspTrainsWithOneTwoAndThreeWorkers() throws IOException {
        for (int workers = 1; workers <= 3; workers++) {
            Path out = dir.resolve("mlm-" + workers);
            CommandLineRun r =
                    train(
                            data.mlm,
                            out,
                            "--model",
                            "bert-tiny",
                            "--workers",
                            Integer.toString(workers),
                            "--eval-every",
                            "3");
            assertEquals(0, r.status(), r.err());
            List<JsonNode> m = metrics(out);
            assertEquals(4, m.size(), "round 0 (evaluation) and rounds 1–3");
            for (int round = 0; round < 4; round++) {
                JsonNode rec = m.get(round);
                assertEquals(round, rec.path("round").asInt());
                for (String key : List.of("step", "tokens", "loss", "lr")) {
                    assertTrue(rec.path(key).isNumber(), key + " in " + rec);
                }
            }
            JsonNode last = m.get(3);
            assertTrue(
                    last.path("mlm_loss").isNumber() && last.path("nsp_loss").isNumber(),
                    "" + last);
            assertEquals(3 * 2, last.path("step").asInt());
            assertEquals(workers * 3 * 2 * 4, last.path("examples").asInt());
            double first = m.get(0).path("eval_loss").asDouble();
            assertEquals(Math.log(1000), first, 0.1 * Math.log(1000), "initial MLM loss ≈ ln V");
            assertTrue(last.path("eval_loss").asDouble() < first - 0.3, "learning: " + m);
            assertTrue(last.path("eval_nsp_accuracy").isNumber());
            for (int round = 1; round < 4; round++) {
                assertRoundTelemetry(m.get(round), workers, round == 3);
            }
            assertCheckpoint(out, workers, 3);
            assertTrue(r.err().contains("train: round 3/3"), r.err());
            assertEquals(
                    0, LiveWorkers.count(), "the workers' native memory is freed after the run");
        }
    }

    @Test
    void clmWithFimTrainsWithOneTwoAndThreeWorkers() throws IOException {
        for (int workers = 1; workers <= 3; workers++) {
            Path out = dir.resolve("clm-" + workers);
            CommandLineRun r =
                    train(
                            data.clm,
                            out,
                            "--model",
                            "llama-tiny",
                            "--workers",
                            Integer.toString(workers),
                            "--eval-every",
                            "3");
            assertEquals(0, r.status(), r.err());
            List<JsonNode> m = metrics(out);
            JsonNode last = m.get(m.size() - 1);
            assertTrue(last.path("clm_loss").isNumber(), "" + last);
            assertFalse(last.has("mlm_loss"));
            double first = m.get(0).path("eval_clm_loss").asDouble();
            assertEquals(Math.log(400), first, 0.15 * Math.log(400), "initial CLM loss ≈ ln V");
            assertTrue(last.path("eval_clm_loss").asDouble() < first - 0.3, "learning: " + m);
            assertCheckpoint(out, workers, 3);
        }
    }

    /** The documented layout, every file hashed, verify --checkpoint happy. */
    /**
     * The time split, per-worker and agreement keys of docs/metrics.md, and what they must obey.
     */
    private static void assertRoundTelemetry(JsonNode rec, int workers, boolean lastRound) {
        for (String key : List.of("setup_s", "send_s", "job_s", "combine_s")) {
            assertTrue(rec.path(key).asDouble(-1) >= 0, key + " in " + rec);
        }
        assertTrue(
                rec.path("job_s").asDouble() <= rec.path("round_s").asDouble() + 1e-3,
                "the job fits in round_s: " + rec);
        assertTrue(
                rec.path("compute_s").asDouble() + rec.path("combine_s").asDouble()
                        <= rec.path("job_s").asDouble() + 1e-3,
                "compute and combine fit in the job: " + rec);
        // The driver's share of the round: reports and a few sums, never an update.
        assertTrue(
                rec.path("driver_bytes_in").asLong() > 0
                        && rec.path("driver_bytes_in").asLong() < 100_000,
                "" + rec);
        assertTrue(rec.path("driver_heap_mb").asDouble(-1) >= 0, "" + rec);
        assertTrue(rec.path("combine_shards").asInt() >= 1, "" + rec);
        long sent = rec.path("delta_bytes").asLong();
        assertTrue(
                sent > 0 && sent % (4L * workers) == 0, "float32 updates of every worker: " + rec);
        JsonNode seconds = rec.path("worker_compute_s");
        JsonNode norms = rec.path("worker_delta_norm");
        assertEquals(workers, seconds.size(), "" + rec);
        assertEquals(workers, norms.size(), "" + rec);
        double slowest = 0;
        double largest = 0;
        for (int w = 0; w < workers; w++) {
            assertTrue(seconds.get(w).asDouble() > 0, "" + rec);
            assertTrue(norms.get(w).asDouble() > 0, "" + rec);
            slowest = Math.max(slowest, seconds.get(w).asDouble());
            largest = Math.max(largest, norms.get(w).asDouble());
        }
        assertEquals(slowest, rec.path("compute_s").asDouble(), 1e-12, "compute_s is the slowest");
        double update = rec.path("update_norm").asDouble();
        // average: the update is a convex combination of the deltas, no longer than the longest
        // (and with one worker, that worker's delta).
        assertTrue(update > 0 && update <= largest * 1.001, update + " vs " + norms);
        if (workers == 1) {
            assertEquals(largest, update, largest * 1e-3);
            assertTrue(rec.path("agreement").isMissingNode(), "" + rec);
        } else {
            double cos = rec.path("agreement").asDouble(Double.NaN);
            assertTrue(cos >= -1 && cos <= 1, "" + rec);
            // Replicas of one model from one start, on samples of one corpus: they agree.
            assertTrue(cos > 0, "" + rec);
        }
        assertEquals(lastRound, rec.path("checkpoint_s").asDouble() > 0, "" + rec);
        assertEquals(lastRound, rec.path("eval_s").isNumber(), "" + rec);
    }

    private static void assertCheckpoint(Path out, int workers, int round) throws IOException {
        Path cp = latest(out);
        assertEquals(String.format("round-%06d", round), cp.getFileName().toString());
        for (String f :
                List.of(
                        "model.safetensors",
                        "config.json",
                        "optimizer.safetensors",
                        "trainer_state.json",
                        "tokenizer/tokenizer.json")) {
            assertTrue(Files.isRegularFile(cp.resolve(f)), f);
        }
        for (int w = 0; w < workers; w++) {
            assertTrue(
                    Files.isRegularFile(
                            cp.resolve(String.format("workers/worker-%05d.safetensors", w))));
        }
        JsonNode state = TrainFixture.JSON.readTree(cp.resolve("trainer_state.json").toFile());
        assertEquals(round, state.path("round").asInt());
        assertEquals(
                workers + 6, state.path("files").size(), "files recorded: " + state.path("files"));
        try (Stream<Path> hidden = Files.list(out.resolve("checkpoints"))) {
            assertEquals(
                    List.of(),
                    hidden.filter(p -> p.getFileName().toString().startsWith(".")).toList(),
                    "no staging directory left");
        }
        CommandLineRun v = ok("verify", "--checkpoint", out.toString());
        assertTrue(v.out().contains("intact"), v.out());
    }

    @Test
    void theSameSeedGivesTheSameBitsAndARetriedTaskChangesNoBit() throws IOException {
        Path clean = dir.resolve("retry-clean");
        Path failed = dir.resolve("retry-failed");
        String[] flags = {"--model", "bert-tiny", "--workers", "3", "--local-steps", "3"};
        assertEquals(0, train(data.mlm, clean, flags).status());
        SparkContext sc = SharedSpark.session().sparkContext();
        sc.setLocalProperty(FaultProbe.PROPERTY, "worker=1,round=2,afterSteps=2");
        CommandLineRun r;
        try {
            r = train(data.mlm, failed, flags);
        } finally {
            sc.setLocalProperty(FaultProbe.PROPERTY, null);
        }
        assertEquals(0, r.status(), r.err());
        assertTrue(
                r.err().contains("worker 1's state was restored"),
                "the retry restored the state: " + r.err());
        assertArrayEquals(model(clean), model(failed), "a retried task changes no bit");
        assertArrayEquals(
                Files.readAllBytes(latest(clean).resolve("workers/worker-00001.safetensors")),
                Files.readAllBytes(latest(failed).resolve("workers/worker-00001.safetensors")));
        Path again = dir.resolve("retry-again");
        assertEquals(0, train(data.mlm, again, flags).status());
        assertArrayEquals(model(clean), model(again), "the same seed gives the same bits");
        Path other = dir.resolve("retry-seed");
        List<String> seeded = new ArrayList<>(List.of(flags));
        seeded.addAll(List.of("--seed", "7"));
        assertEquals(0, train(data.mlm, other, seeded.toArray(String[]::new)).status());
        assertFalse(java.util.Arrays.equals(model(clean), model(other)));
    }

    @Test
    void aRunStoppedAfterARoundAndResumedEndsWithTheSameBytes() throws IOException {
        for (String outer : List.of("average", "nesterov")) {
            Path whole = dir.resolve("whole-" + outer);
            String[] flags = {
                "--model",
                "bert-tiny",
                "--workers",
                "2",
                "--rounds",
                "4",
                "--checkpoint-every",
                "2",
                "--outer-optimizer",
                outer,
                "--eval-every",
                "2",
                "--lr-schedule",
                "cosine"
            };
            assertEquals(0, train(data.mlm, whole, flags).status());
            // What a run stopped after round 2 leaves: its round-2 checkpoint, latest naming it,
            // and metrics up to round 2 plus a round the resumed run must drop.
            Path stopped = dir.resolve("stopped-" + outer);
            copy(
                    whole.resolve("checkpoints/round-000002"),
                    stopped.resolve("checkpoints/round-000002"));
            Files.writeString(stopped.resolve("checkpoints/latest"), "round-000002\n");
            Files.copy(whole.resolve("metrics.jsonl"), stopped.resolve("metrics.jsonl"));
            Files.createDirectories(stopped.resolve("checkpoints/.round-000003.staging-x/workers"));
            CommandLineRun r =
                    ok(
                            "train",
                            "--data",
                            data.mlm.toString(),
                            "--output",
                            stopped.toString(),
                            "--resume");
            assertTrue(r.err().contains("resuming"), r.err());
            assertArrayEquals(model(whole), model(stopped), outer + ": resumed = uninterrupted");
            List<JsonNode> a = metrics(whole);
            List<JsonNode> b = metrics(stopped);
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                assertEquals(a.get(i).path("round"), b.get(i).path("round"));
                assertEquals(a.get(i).path("loss"), b.get(i).path("loss"));
                assertEquals(a.get(i).path("eval_loss"), b.get(i).path("eval_loss"));
            }
            assertFalse(Files.exists(stopped.resolve("checkpoints/.round-000003.staging-x")));
        }
    }

    @Test
    void extendingAFinishedConstantRateRunEqualsALongerRun() throws IOException {
        String[] flags = {"--model", "bert-tiny", "--workers", "2", "--lr-schedule", "constant"};
        Path longer = dir.resolve("longer");
        List<String> four = new ArrayList<>(List.of(flags));
        four.addAll(List.of("--rounds", "4"));
        assertEquals(0, train(data.mlm, longer, four.toArray(String[]::new)).status());
        Path extended = dir.resolve("extended");
        List<String> two = new ArrayList<>(List.of(flags));
        two.addAll(List.of("--rounds", "2"));
        assertEquals(0, train(data.mlm, extended, two.toArray(String[]::new)).status());
        ok(
                "train",
                "--data",
                data.mlm.toString(),
                "--output",
                extended.toString(),
                "--resume",
                "--rounds",
                "4");
        assertArrayEquals(model(longer), model(extended));
    }

    @Test
    void anExportedModelGivesTheLossesEvaluatePrintsAndInitFromContinuesIt() throws Exception {
        Path run = dir.resolve("to-export");
        assertEquals(
                0,
                train(data.mlm, run, "--model", "bert-tiny", "--workers", "2", "--eval-every", "3")
                        .status());
        CommandLineRun e =
                ok("evaluate", "--checkpoint", run.toString(), "--data", data.mlm.toString());
        assertEquals(1, e.out().lines().count(), "one JSON line on stdout: " + e.out());
        JsonNode metrics = TrainFixture.JSON.readTree(e.out());
        for (String key :
                List.of(
                        "examples",
                        "tokens",
                        "mlm_loss",
                        "mlm_accuracy",
                        "nsp_loss",
                        "nsp_accuracy",
                        "perplexity")) {
            assertTrue(metrics.path(key).isNumber(), key + " in " + metrics);
        }
        List<JsonNode> m = metrics(run);
        assertEquals(
                m.get(m.size() - 1).path("eval_mlm_loss").asDouble(),
                metrics.path("mlm_loss").asDouble());
        assertEquals(
                Math.exp(metrics.path("mlm_loss").asDouble()),
                metrics.path("perplexity").asDouble(),
                1e-9);

        // The Hugging Face folder, read back through the Hugging Face import path, gives the same
        // validation losses.
        Path hf = dir.resolve("exported");
        ok("export", "--checkpoint", run.toString(), "--output", hf.toString());
        Evaluator.Metrics fromHf;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            ModelWeights w = HuggingFaceFolder.read(InputFolder.of(hf), manager, 0).weights();
            var sc = SharedSpark.session().sparkContext();
            var params =
                    JavaSparkContext.fromSparkContext(sc).broadcast(Parameters.of(w.parameters()));
            fromHf =
                    Evaluator.run(
                            SharedSpark.session(),
                            PreparedDataset.open(data.mlm.toString(), sc.hadoopConfiguration()),
                            "validation",
                            w.config(),
                            Evaluator.ParameterSource.of(params),
                            32,
                            1);
        }
        assertEquals(
                metrics.path("mlm_loss").asDouble(), fromHf.terms().get("mlm").meanLoss(), 1e-6);
        assertEquals(
                metrics.path("nsp_loss").asDouble(), fromHf.terms().get("nsp").meanLoss(), 1e-6);

        // inspect --format jsonl hands the same rows to other tools (model/src/test/python/
        // evaluate_hf_export.py computes these losses from them with an independent PyTorch model).
        CommandLineRun rows =
                ok(
                        "inspect",
                        "--data",
                        data.mlm.toString(),
                        "--split",
                        "validation",
                        "--rows",
                        "100000",
                        "--format",
                        "jsonl");
        List<String> lines = rows.out().lines().toList();
        assertEquals(metrics.path("examples").asLong(), lines.size());
        JsonNode first = TrainFixture.JSON.readTree(lines.get(0));
        assertEquals(0, first.path("example_id").asLong());
        assertEquals(64, first.path("input_ids").size());
        assertTrue(first.path("next_sentence_label").isInt(), "" + first);

        // Training continues from it: the initial evaluation is the trained model's.
        Path continued = dir.resolve("continued");
        CommandLineRun c =
                train(
                        data.mlm,
                        continued,
                        "--init-from",
                        hf.toString(),
                        "--rounds",
                        "1",
                        "--eval-every",
                        "1");
        assertEquals(0, c.status(), c.err());
        List<JsonNode> cm = metrics(continued);
        assertEquals(
                metrics.path("mlm_loss").asDouble(), cm.get(0).path("eval_loss").asDouble(), 1e-6);
        assertTrue(cm.get(1).path("eval_loss").isNumber());
        assertRefused(
                train(
                        data.mlm,
                        dir.resolve("init-mismatch"),
                        "--init-from",
                        hf.toString(),
                        "--model",
                        "bert-mini"),
                "--init-from");
    }

    @Test
    void theBertLmHeadTrainsCausallyAndMlmTrainsOnSeq2SeqRowsWithSmileInBf16() throws IOException {
        Path causalBert = dir.resolve("causal-bert");
        CommandLineRun r = train(data.clm, causalBert, "--model", "bert-tiny", "--eval-every", "3");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("bert causal"), r.err());
        List<JsonNode> m = metrics(causalBert);
        assertTrue(
                m.get(3).path("eval_clm_loss").asDouble()
                        < m.get(0).path("eval_clm_loss").asDouble() - 0.3,
                "" + m);
        JsonNode config =
                TrainFixture.JSON.readTree(latest(causalBert).resolve("config.json").toFile());
        assertTrue(config.path("causal").asBoolean());

        Path s2s = dir.resolve("seq2seq");
        r =
                train(
                        data.seq2seq,
                        s2s,
                        "--model",
                        "bert-tiny",
                        "--loss",
                        "smile",
                        "--precision",
                        "bf16",
                        "--eval-every",
                        "3");
        assertEquals(0, r.status(), r.err());
        m = metrics(s2s);
        assertFalse(m.get(3).has("nsp_loss"));
        assertTrue(
                m.get(3).path("eval_mlm_loss").asDouble()
                        < m.get(0).path("eval_mlm_loss").asDouble(),
                "" + m);
    }

    @Test
    void maxTokensStopsTheRunKeepCheckpointsPrunesAndReadsStayNearTheTrainedBytes()
            throws IOException {
        Path out = dir.resolve("max-tokens");
        CommandLineRun r =
                train(
                        data.mlm,
                        out,
                        "--model",
                        "bert-tiny",
                        "--rounds",
                        "0",
                        "--max-tokens",
                        "3000",
                        "--checkpoint-every",
                        "1",
                        "--keep-checkpoints",
                        "2",
                        "--dynamic-masking");
        assertEquals(0, r.status(), r.err());
        List<JsonNode> m = metrics(out);
        JsonNode last = m.get(m.size() - 1);
        assertTrue(last.path("tokens").asLong() >= 3000, "" + last);
        assertTrue(
                m.get(m.size() - 2).path("tokens").asLong() < 3000,
                "stops at the first round past it");
        try (Stream<Path> rounds = Files.list(out.resolve("checkpoints"))) {
            assertEquals(
                    2, rounds.filter(p -> p.getFileName().toString().startsWith("round-")).count());
        }
        assertEquals(
                String.format("round-%06d", last.path("round").asInt()),
                latest(out).getFileName().toString());

        // A whole epoch and more: every row group is read about once per epoch.
        Path epochs = dir.resolve("epochs");
        r =
                train(
                        data.mlm,
                        epochs,
                        "--model",
                        "bert-tiny",
                        "--workers",
                        "2",
                        "--rounds",
                        "2",
                        "--local-steps",
                        "12",
                        "--batch-size",
                        "64",
                        "--dynamic-masking");
        assertEquals(0, r.status(), r.err());
        last = metrics(epochs).get(1);
        assertTrue(last.path("epoch").asDouble() > 1, "" + last);
        double ratio = last.path("bytes_read").asDouble() / last.path("bytes_trained").asDouble();
        assertTrue(ratio <= 2, "bytes read / bytes trained on = " + ratio + " in " + last);
    }

    @Test
    void dynamicMaskingRemasksFromTheLabelsWithTheDatasetsSettings() throws IOException {
        var conf = SharedSpark.session().sparkContext().hadoopConfiguration();
        PreparedDataset d = PreparedDataset.open(data.mlm.toString(), conf);
        try (ExampleReader reader = new ExampleReader(d, "train", conf, 1)) {
            Examples rows = reader.read(0, 300);
            int n = rows.inputIds().length;
            int[] original = new int[n];
            for (int i = 0; i < n; i++) {
                original[i] = rows.labels()[i] != -100 ? rows.labels()[i] : rows.inputIds()[i];
            }
            Examples a = rows.slice(0, rows.rows());
            Examples b = rows.slice(0, rows.rows());
            Examples c = rows.slice(0, rows.rows());
            RoundRows.remask(a, RoundRows.masker(d), 42, 1);
            RoundRows.remask(b, RoundRows.masker(d), 42, 1);
            RoundRows.remask(c, RoundRows.masker(d), 42, 2);
            assertEquals(a, b, "a function of (seed, epoch, example_id)");
            assertFalse(a.equals(c), "another epoch, another masking");
            assertFalse(java.util.Arrays.equals(a.labels(), rows.labels()));
            long candidates = 0;
            long predicted = 0;
            for (int i = 0; i < n; i++) {
                int recovered = a.labels()[i] != -100 ? a.labels()[i] : a.inputIds()[i];
                assertEquals(original[i], recovered, "the original token at " + i);
                boolean protectedToken = a.attentionMask()[i] == 0 || a.specialTokensMask()[i] == 1;
                if (protectedToken) {
                    assertEquals(
                            -100, a.labels()[i], "special tokens and padding are never masked");
                } else {
                    candidates++;
                    predicted += a.labels()[i] != -100 ? 1 : 0;
                }
            }
            double rate = (double) predicted / candidates;
            assertEquals(0.15, rate, 0.03, "the dataset's mlm_probability");
        }
    }

    @Test
    void aNonFiniteWorkerIsDroppedForItsRoundAndThreeBadRoundsInARowStopTheRun()
            throws IOException {
        SparkContext sc = SharedSpark.session().sparkContext();
        Path once = dir.resolve("nan-once");
        String[] flags = {
            "--model",
            "bert-tiny",
            "--workers",
            "2",
            "--local-steps",
            "3",
            "--checkpoint-every",
            "1"
        };
        CommandLineRun r;
        sc.setLocalProperty(FaultProbe.PROPERTY, "worker=1,round=2,afterSteps=1,action=nan");
        try {
            r = train(data.mlm, once, flags);
        } finally {
            sc.setLocalProperty(FaultProbe.PROPERTY, null);
        }
        assertEquals(0, r.status(), r.err());
        assertTrue(
                r.err()
                        .contains(
                                "worker 1's loss or update was not finite in round 2 (mlm loss NaN"),
                r.err());
        List<JsonNode> m = metrics(once);
        JsonNode round2 = m.get(1);
        assertEquals(2, round2.path("round").asInt());
        assertEquals("[1]", round2.path("dropped_workers").toString());
        assertTrue(round2.path("worker_delta_norm").get(0).asDouble() > 0);
        assertTrue(round2.path("worker_delta_norm").get(1).isNull());
        assertFalse(round2.has("agreement"), "one update left: no pair to agree");
        assertTrue(Double.isFinite(round2.path("loss").asDouble()), round2.toString());
        assertEquals(3, m.get(2).path("round").asInt());
        assertFalse(m.get(2).has("dropped_workers"));
        // The dropped worker went on from its state at the start of round 2.
        Path checkpoints = once.resolve("checkpoints");
        assertArrayEquals(
                Files.readAllBytes(
                        checkpoints.resolve("round-000001/workers/worker-00001.safetensors")),
                Files.readAllBytes(
                        checkpoints.resolve("round-000002/workers/worker-00001.safetensors")));
        assertFalse(
                java.util.Arrays.equals(
                        Files.readAllBytes(
                                checkpoints.resolve(
                                        "round-000002/workers/worker-00001.safetensors")),
                        Files.readAllBytes(
                                checkpoints.resolve(
                                        "round-000003/workers/worker-00001.safetensors"))));
        assertFinite(once);

        Path bad = dir.resolve("nan-always");
        sc.setLocalProperty(FaultProbe.PROPERTY, "worker=0,rounds=1-9,afterSteps=1,action=nan");
        try {
            r = train(data.mlm, bad, "--model", "bert-tiny", "--workers", "2", "--rounds", "6");
        } finally {
            sc.setLocalProperty(FaultProbe.PROPERTY, null);
        }
        assertEquals(1, r.status(), r.err());
        List<String> errors = r.errorLines();
        assertEquals(1, errors.size(), r.err());
        assertTrue(
                errors.get(0)
                        .startsWith(
                                "lmspark train: stopped: 3 rounds in a row (1–3) had a non-finite"),
                errors.get(0));
        assertTrue(errors.get(0).contains("round-000003"), errors.get(0));
        assertEquals("round-000003", latest(bad).getFileName().toString());
        assertFinite(bad);
        CommandLineRun v = ok("verify", "--checkpoint", bad.toString());
        assertTrue(v.out().contains("intact"), v.out());
    }

    private static void assertFinite(Path run) throws IOException {
        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE);
                var in = Files.newInputStream(latest(run).resolve("model.safetensors"))) {
            for (var e : dev.lmspark.model.io.SafeTensors.read(in, m).entrySet()) {
                float[] v =
                        e.getValue()
                                .toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                .toFloatArray();
                for (float x : v) {
                    assertTrue(Float.isFinite(x), e.getKey() + " has a non-finite value");
                }
            }
        }
    }

    @Test
    void aShardDeletedUnderARunningJobEndsItWithOneLineAndKeepsThePublishedCheckpoint()
            throws IOException {
        Path copy = dir.resolve("shards-deleted-data");
        copy(data.mlm, copy);
        Path out = dir.resolve("shards-deleted");
        PreparedDataset dataset =
                PreparedDataset.open(
                        copy.toString(),
                        SharedSpark.session().sparkContext().hadoopConfiguration());
        int rowsPerRound = 4 * 16;
        long rounds = dataset.numExamples("train") / rowsPerRound + 2;
        List<Path> shards = new ArrayList<>();
        for (PreparedDataset.Shard s : dataset.shards("train")) {
            shards.add(Path.of(dataset.file(s).toUri()));
        }
        assertTrue(shards.size() >= 3, "the worker must open a shard after round 1: " + shards);
        SparkContext sc = SharedSpark.session().sparkContext();
        SparkListener deleteAtRoundTwo =
                new SparkListener() {
                    @Override
                    public void onJobStart(SparkListenerJobStart job) {
                        String what = job.properties().getProperty("spark.job.description", "");
                        if (what.startsWith("lmspark train round 2/")) {
                            for (Path p : shards) {
                                try {
                                    Files.deleteIfExists(p);
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }
                        }
                    }
                };
        sc.addSparkListener(deleteAtRoundTwo);
        CommandLineRun r;
        try {
            r =
                    train(
                            copy,
                            out,
                            "--model",
                            "bert-tiny",
                            "--workers",
                            "1",
                            "--local-steps",
                            "4",
                            "--batch-size",
                            "16",
                            "--rounds",
                            Long.toString(rounds),
                            "--checkpoint-every",
                            "1");
        } finally {
            sc.removeSparkListener(deleteAtRoundTwo);
        }
        assertEquals(1, r.status(), r.err());
        List<String> errors = r.errorLines();
        assertEquals(1, errors.size(), r.err());
        assertTrue(
                errors.get(0)
                        .matches(
                                "lmspark train: round \\d+ failed: worker 0 cannot read its rows of round \\d+: .*part-.* is missing .*"),
                errors.get(0));
        assertTrue(
                errors.get(0).contains("restore it or prepare the dataset again"), errors.get(0));
        String latest = latest(out).getFileName().toString();
        assertTrue(errors.get(0).contains(latest), errors.get(0));
        CommandLineRun v = ok("verify", "--checkpoint", out.toString());
        assertTrue(v.out().contains("intact"), v.out());
    }

    @Test
    void badInputIsRefusedWithOneLineAndStatusTwo() throws IOException {
        Path out = dir.resolve("refused");
        assertRefused(train(data.mlm, out, "--model", "llama-tiny"), "causal");
        assertRefused(train(data.clm, out, "--model", "rotary-mlm-small"), "masked LM");
        assertRefused(train(data.mlm, out, "--objective", "clm"), "--objective clm");
        assertRefused(train(data.mlm, out, "--workers", "0"), "--workers 0");
        assertRefused(train(data.mlm, out, "--lr-schedule", "bogus"), "--lr-schedule 'bogus'");
        assertRefused(train(data.mlm, out, "--loss", "focal"), "--loss 'focal'");
        assertRefused(
                CommandLineRun.of(
                        "train",
                        "--data",
                        data.mlm.toString(),
                        "--output",
                        out.toString(),
                        "--resume"),
                "no complete checkpoint");
        Path run = dir.resolve("refused-existing");
        assertEquals(0, train(data.mlm, run, "--model", "bert-tiny", "--rounds", "1").status());
        assertRefused(train(data.mlm, run, "--model", "bert-tiny"), "--resume");
        assertRefused(
                CommandLineRun.of(
                        "train",
                        "--data",
                        data.mlm.toString(),
                        "--output",
                        run.toString(),
                        "--resume",
                        "--lr",
                        "0.5"),
                "--lr 0.5 differs");
        assertRefused(
                CommandLineRun.of(
                        "train",
                        "--data",
                        data.mlm.toString(),
                        "--output",
                        run.toString(),
                        "--resume",
                        "--workers",
                        "3"),
                "--workers 3 differs");
        assertRefused(
                CommandLineRun.of(
                        "train",
                        "--data",
                        data.clm.toString(),
                        "--output",
                        run.toString(),
                        "--resume"),
                "not the dataset this run started with");
        assertFalse(Files.exists(out.resolve("checkpoints")), "nothing written for a refused run");
    }

    private static void assertRefused(CommandLineRun r, String expected) {
        assertEquals(2, r.status(), r.err());
        List<String> errors = r.errorLines();
        assertEquals(1, errors.size(), r.err());
        assertTrue(errors.get(0).contains(expected), errors.get(0));
    }

    private static void copy(Path from, Path to) throws IOException {
        dev.lmspark.jobs.PrepareFixture.copyTree(from, to);
    }
}
