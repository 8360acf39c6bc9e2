package dev.lmspark.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An executor JVM killed from outside ({@code kill -9} of its pid, as a cluster manager or a spot
 * reclaim does) at five moments of a {@code local-cluster[2,1,…]} run — idle between rounds, in the
 * middle of a worker's round, while the combine runs, while a checkpoint is written and during an
 * evaluation — costs at most the round in flight: the run completes every round and ends with the
 * bytes of an undisturbed run. The moments come from {@code PauseProbe}, a test-only {@code
 * TrainProbe} on the launcher's extra classpath: the process that reaches the moment waits there
 * until the test has killed its executor. The mid-round moment runs in the fast suite, the other
 * four with {@code -Pslow}. A SIGTERM to the driver mid-round (as Kubernetes or YARN stop a job)
 * publishes the last finished round, exits 143 within 30 seconds and resumes to the same bytes (in
 * local mode; Ctrl-C's exit 130: {@code TrainClusterIT}, slow suite).
 */
class ExecutorLossIT {
    static final String CLUSTER = "local-cluster[2,1,1536]";
    static final String LOCAL = "local[2]";

    @TempDir static Path dir;
    static Path data;
    static Path pauses;

    @BeforeAll
    static void dataset() throws IOException {
        data = dir.resolve("golden-mlm");
        Path source = LauncherIT.ROOT.resolve("spark-jobs/src/test/resources/fixtures/golden-mlm");
        try (var files = Files.walk(source)) {
            for (Path p : files.toList()) {
                Path target = data.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        pauses = Files.createDirectories(dir.resolve("pauses"));
    }

    static List<String> command(Path out) {
        return command(out, CLUSTER);
    }

    static List<String> command(Path out, String master) {
        return new ArrayList<>(
                List.of(
                        LauncherIT.LAUNCHER.toString(),
                        "train",
                        "--master",
                        master,
                        "--data",
                        data.toString(),
                        "--output",
                        out.toString(),
                        "--model",
                        "bert-tiny",
                        "--workers",
                        "2",
                        "--rounds",
                        "4",
                        "--local-steps",
                        "3",
                        "--batch-size",
                        "4",
                        "--lr",
                        "2e-3",
                        "--lr-schedule",
                        "constant",
                        "--outer-optimizer",
                        "nesterov",
                        "--checkpoint-every",
                        "2",
                        "--eval-every",
                        "2",
                        "--conf",
                        "spark.executorEnv.LMSPARK_TEST_PAUSE_DIR=" + pauses));
    }

    static ProcessBuilder process(Path out) {
        return process(out, CLUSTER);
    }

    static ProcessBuilder process(Path out, String master) {
        ProcessBuilder pb = new ProcessBuilder(command(out, master));
        pb.environment().put("LMSPARK_NO_BUILD", "1");
        pb.environment().remove("SPARK_HOME");
        pb.environment()
                .put(
                        "LMSPARK_EXTRA_CLASSPATH",
                        LauncherIT.ROOT.resolve("spark-jobs/target/test-classes").toString());
        pb.environment().put("LMSPARK_TEST_PAUSE_DIR", pauses.toString());
        pb.redirectOutput(out.resolveSibling(out.getFileName() + ".out").toFile());
        pb.redirectError(out.resolveSibling(out.getFileName() + ".err").toFile());
        return pb;
    }

    /** The undisturbed run under the same master, made once. */
    static Path undisturbed() throws Exception {
        return undisturbed(CLUSTER);
    }

    /**
     * The undisturbed run under {@code master}, made once (local mode's workers have more threads
     * than local-cluster's one core each, so their sums round differently).
     */
    static synchronized Path undisturbed(String master) throws Exception {
        String name = master.equals(CLUSTER) ? "undisturbed" : "undisturbed-local";
        Path out = dir.resolve(name);
        if (!Files.exists(out.resolve("checkpoints/latest"))) {
            Process p = process(out, master).start();
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the undisturbed run took over 5 minutes");
            assertEquals(0, p.exitValue(), Files.readString(dir.resolve(name + ".err")));
        }
        return out;
    }

    /**
     * Runs the training, kills an executor at {@code point} of round {@code round} and returns the
     * run's stderr once it ended.
     */
    static String killedAt(String point, long round) throws Exception {
        return killedAt(point, round, out -> {}, true);
    }

    /** What the test does to the run's files while the run waits at the moment. */
    interface Meddling {
        void apply(Path out) throws IOException;
    }

    /**
     * As {@link #killedAt(String, long)}, with {@code meddling} done before the kill; {@code
     * exact}: the run must end with the undisturbed run's bytes (else it must only complete and
     * verify).
     */
    static String killedAt(String point, long round, Meddling meddling, boolean exact)
            throws Exception {
        Path out = dir.resolve("killed-" + point + "-" + round);
        Files.writeString(pauses.resolve("pause-" + point + "-" + round), "");
        Process p = process(out).start();
        Path err = out.resolveSibling(out.getFileName() + ".err");
        Path paused = awaitPause(p, err, point, round);
        String name = paused.getFileName().toString();
        long pid = Long.parseLong(name.substring(name.lastIndexOf('-') + 1));
        long victim = pid == p.pid() ? anExecutor(p) : pid;
        meddling.apply(out);
        assertTrue(victim != p.pid(), "the driver is not the one to kill");
        new ProcessBuilder("kill", "-9", Long.toString(victim)).start().waitFor();
        Optional<ProcessHandle> h = ProcessHandle.of(victim);
        if (h.isPresent()) {
            h.get().onExit().get(30, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(paused);
        assertTrue(p.waitFor(6, TimeUnit.MINUTES), "no exit 6 minutes after the kill");
        String log = Files.readString(err);
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("train: round 4/4"), log);
        if (exact) {
            assertArrayEquals(
                    Files.readAllBytes(
                            undisturbed().resolve("checkpoints/round-000004/model.safetensors")),
                    Files.readAllBytes(out.resolve("checkpoints/round-000004/model.safetensors")),
                    "killed at " + point + " of round " + round + ", the run changed bits: " + log);
        }
        assertEquals(
                0, LauncherIT.launch("verify", "--checkpoint", out.toString()).status(), "verify");
        try (var files = Files.list(out.resolve("checkpoints"))) {
            assertEquals(
                    List.of(),
                    files.filter(f -> f.getFileName().toString().startsWith(".")).toList(),
                    "hidden files left behind");
        }
        return log;
    }

    /**
     * Waits (at most four minutes) until a JVM of the run {@code p} waits at {@code point} of
     * {@code round}; returns the file it renamed (its name ends with that JVM's pid).
     */
    static Path awaitPause(Process p, Path err, String point, long round) throws Exception {
        long deadline = System.nanoTime() + 240_000_000_000L;
        String prefix = "paused-" + point + "-" + round;
        while (true) {
            assertTrue(p.isAlive(), "train ended before " + point + ": " + Files.readString(err));
            assertTrue(System.nanoTime() < deadline, "no " + point + " in 4 minutes");
            try (var files = Files.list(pauses)) {
                var paused =
                        files.filter(f -> f.getFileName().toString().startsWith(prefix))
                                .findFirst();
                if (paused.isPresent()) {
                    return paused.get();
                }
            }
            Thread.sleep(50);
        }
    }

    /** An executor JVM of the run whose driver is {@code driver} (local-cluster's children). */
    static long anExecutor(Process driver) {
        List<ProcessHandle> executors =
                driver.descendants()
                        .filter(
                                h ->
                                        h.info()
                                                .arguments()
                                                .map(Arrays::asList)
                                                .orElse(List.of())
                                                .contains(
                                                        "org.apache.spark.executor.CoarseGrainedExecutorBackend"))
                        .toList();
        assertFalse(executors.isEmpty(), "no executor JVM found");
        return executors.get(0).pid();
    }

    @Test
    void anExecutorKilledMidRoundCostsThatRoundAndNoBit() throws Exception {
        String log = killedAt("AFTER_STEP", 3);
        assertTrue(log.contains("replayed exactly from checkpoint round 2"), log);
    }

    @Test
    void sigtermMidRoundPublishesTheLastRoundExits143AndResumesToTheSameBytes() throws Exception {
        Path out = dir.resolve("sigterm");
        Path err = dir.resolve("sigterm.err");
        // Round 4 is in flight: the stop publishes round 3 (not a scheduled checkpoint) itself.
        Files.writeString(pauses.resolve("pause-AFTER_STEP-4"), "");
        // In local mode, as a laptop run (no executor JVMs to start: the quicker test).
        Process p = process(out, LOCAL).start();
        Path paused = awaitPause(p, err, "AFTER_STEP", 4);
        // The launcher execs the JVM, so its pid is the driver's.
        long sent = System.nanoTime();
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - sent) / 1e9;
        Files.deleteIfExists(paused);
        if (!exited) {
            p.destroyForcibly().waitFor(); // leaves nothing to disturb the next test
        }
        assertTrue(exited, "no exit a minute after SIGTERM: " + Files.readString(err));
        String log = Files.readString(err);
        assertEquals(143, p.exitValue(), log);
        assertTrue(seconds < 30, "exited " + seconds + " s after SIGTERM (Kubernetes: 30)");
        List<String> lines = log.lines().toList();
        assertTrue(
                lines.get(lines.size() - 1)
                        .startsWith("lmspark train: stopped by SIGTERM after round 3 of 4;"),
                log);
        assertEquals("round-000003", Files.readString(out.resolve("checkpoints/latest")).strip());
        List<String> resume =
                new ArrayList<>(
                        List.of(
                                LauncherIT.LAUNCHER.toString(),
                                "train",
                                "--master",
                                LOCAL,
                                "--data",
                                data.toString(),
                                "--output",
                                out.toString(),
                                "--resume"));
        ProcessBuilder pb = new ProcessBuilder(resume);
        pb.environment().put("LMSPARK_NO_BUILD", "1");
        pb.environment().remove("SPARK_HOME");
        Path resumed = dir.resolve("sigterm-resumed.err");
        pb.redirectOutput(dir.resolve("sigterm-resumed.out").toFile());
        pb.redirectError(resumed.toFile());
        Process r = pb.start();
        assertTrue(r.waitFor(5, TimeUnit.MINUTES), "the resumed run took over 5 minutes");
        assertEquals(0, r.exitValue(), Files.readString(resumed));
        assertArrayEquals(
                Files.readAllBytes(
                        undisturbed(LOCAL).resolve("checkpoints/round-000004/model.safetensors")),
                Files.readAllBytes(out.resolve("checkpoints/round-000004/model.safetensors")),
                "stopped by SIGTERM and resumed");
    }

    @Test
    @Tag("slow")
    void anExecutorKilledWhileTheCombineRunsCostsThatRoundAndNoBit() throws Exception {
        killedAt("COMBINE", 3);
    }

    @Test
    @Tag("slow")
    void anExecutorKilledIdleBetweenRoundsCostsNoBit() throws Exception {
        killedAt("BETWEEN_ROUNDS", 1);
    }

    @Test
    @Tag("slow")
    void anExecutorKilledWhileACheckpointIsWrittenCostsNoBit() throws Exception {
        killedAt("CHECKPOINT", 2);
    }

    @Test
    @Tag("slow")
    void anExecutorKilledDuringEvaluationCostsNoBit() throws Exception {
        killedAt("EVALUATION", 2);
    }

    @Test
    @Tag("slow")
    void withTheReplaysParametersGoneTheLostStateIsResetWithAWarning() throws Exception {
        // Round 4's workers would replay round 3 from round 2's parameters: deleted from outside.
        String log =
                killedAt(
                        "AFTER_STEP",
                        4,
                        out -> {
                            Path gone = out.resolve("checkpoints/.global/round-000002");
                            try (var files = Files.walk(gone)) {
                                for (Path f :
                                        files.sorted(java.util.Comparator.reverseOrder())
                                                .toList()) {
                                    Files.delete(f);
                                }
                            }
                        },
                        false);
        assertTrue(
                log.contains(
                                "optimizer state was reset to its state at checkpoint round 2 for"
                                        + " round 4")
                        && log.contains("the global parameters of round 2 are gone"),
                log);
    }
}
