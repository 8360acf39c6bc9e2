package dev.lmspark.deploy;

import static dev.lmspark.deploy.LauncherIT.launch;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} with separate executor JVMs: {@code --master local-cluster[2,1,2048]} through the
 * launcher (which sets up the Spark home and executor classpath that master needs). Two workers
 * train MLM+NSP and CLM+FIM; a worker whose task is moved to the other executor in mid-run (its
 * first attempt fails there, and Spark excludes that executor for the task) is rebuilt there by an
 * exact replay, and the run ends with the same bytes as an undisturbed one. Executors killed from
 * outside: {@link ExecutorLossIT}.
 *
 * <p>Slow suite. The fast suite covers the same paths elsewhere: separate executor JVMs and a
 * worker rebuilt on the other executor by an exact replay in {@link ExecutorLossIT} (an executor
 * killed mid-round), SIGTERM's published checkpoint, exit 143 and exact resume in {@link
 * ExecutorLossIT} too, CLM+FIM with two and three workers in {@code TrainJobTest} ({@code
 * local[2,2]}).
 */
@Tag("slow")
class TrainClusterIT {
    static final String CLUSTER = "local-cluster[2,1,2048]";

    @TempDir static Path dir;
    static Path mlm;
    static Path clm;

    @BeforeAll
    static void datasets() throws Exception {
        Path prose = dir.resolve("prose");
        Path code = dir.resolve("code");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "0.2");
        ok("sample-corpus", "--output", code.toString(), "--kind", "code", "--size-mb", "0.2");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                dir.resolve("wp").toString(),
                "--lowercase",
                "--vocab-size",
                "800");
        ok(
                "train-tokenizer",
                "--input",
                code.toString(),
                "--output",
                dir.resolve("bpe").toString(),
                "--type",
                "bpe",
                "--vocab-size",
                "400");
        mlm = dir.resolve("mlm");
        clm = dir.resolve("clm");
        ok(
                "prepare",
                "--input",
                prose.toString(),
                "--tokenizer",
                dir.resolve("wp").toString(),
                "--output",
                mlm.toString(),
                "--max-length",
                "64",
                "--nsp",
                "--shards",
                "2");
        ok(
                "prepare",
                "--input",
                code.toString(),
                "--tokenizer",
                dir.resolve("bpe").toString(),
                "--output",
                clm.toString(),
                "--objective",
                "clm",
                "--pack",
                "--fim-rate",
                "0.5",
                "--max-length",
                "64",
                "--shards",
                "2");
    }

    /** The test classes (the fault-injecting {@code TrainProbe}) for driver and executors. */
    static final java.util.Map<String, String> PROBES =
            java.util.Map.of(
                    "LMSPARK_EXTRA_CLASSPATH",
                    LauncherIT.ROOT.resolve("spark-jobs/target/test-classes").toString());

    static LauncherIT.Result ok(String... args) throws Exception {
        LauncherIT.Result r = launch(PROBES, args);
        assertEquals(0, r.status(), String.join(" ", args) + ": " + r.err());
        return r;
    }

    static LauncherIT.Result train(Path data, Path out, String... extra) throws Exception {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "train",
                                "--master",
                                CLUSTER,
                                "--data",
                                data.toString(),
                                "--output",
                                out.toString(),
                                "--workers",
                                "2",
                                "--rounds",
                                "3",
                                "--local-steps",
                                "2",
                                "--batch-size",
                                "4",
                                "--lr",
                                "2e-3"));
        args.addAll(Arrays.asList(extra));
        return ok(args.toArray(String[]::new));
    }

    static byte[] model(Path out) throws IOException {
        Path cp = out.resolve("checkpoints");
        return Files.readAllBytes(
                cp.resolve(Files.readString(cp.resolve("latest")).strip())
                        .resolve("model.safetensors"));
    }

    @Test
    void twoWorkersTrainInSeparateExecutorsAndAMovedWorkerChangesNoBit() throws Exception {
        Path home = undisturbed();
        assertTrue(Files.readString(home.resolve("checkpoints/latest")).contains("round-000003"));
        LauncherIT.Result c = train(clm, dir.resolve("run-clm"), "--model", "llama-tiny");
        assertTrue(c.err().contains("train: round 3/3"), c.err());
        ok("verify", "--checkpoint", dir.resolve("run-clm").toString());

        Path moved = dir.resolve("moved");
        LauncherIT.Result r =
                train(
                        mlm,
                        moved,
                        "--model",
                        "bert-tiny",
                        "--conf",
                        "spark.lmspark.test.failOnce=worker=1,round=2,afterSteps=1",
                        "--conf",
                        "spark.excludeOnFailure.enabled=true",
                        "--conf",
                        "spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor=1");
        assertTrue(
                r.err().contains("worker 1's state was rebuilt on executor")
                        && r.err().contains("(it ran on executor")
                        && r.err().contains("replayed exactly from the run's start (1 round(s))"),
                "the retry ran on the other executor: " + r.err());
        assertArrayEquals(model(home), model(moved));
    }

    /** The undisturbed 3-round bert-tiny MLM run under local-cluster, made once. */
    static synchronized Path undisturbed() throws Exception {
        Path home = dir.resolve("run-mlm");
        if (!Files.exists(home.resolve("checkpoints/latest"))) {
            train(mlm, home, "--model", "bert-tiny");
        }
        return home;
    }

    @Test
    void sigtermAndCtrlCPublishACheckpointExit143And130AndResumeEndsWithTheSameBytes()
            throws Exception {
        List<String> flags =
                List.of(
                        "train",
                        "--master",
                        "local[2]",
                        "--data",
                        mlm.toString(),
                        "--model",
                        "bert-tiny",
                        "--workers",
                        "2",
                        "--rounds",
                        "6",
                        "--local-steps",
                        "3",
                        "--batch-size",
                        "8",
                        "--lr",
                        "2e-3",
                        "--checkpoint-every",
                        "0");
        Path whole = dir.resolve("signal-whole");
        List<String> args = new ArrayList<>(flags);
        args.addAll(List.of("--output", whole.toString()));
        ok(args.toArray(String[]::new));
        // A process started as a background job of a non-interactive shell (`cmd &` in a script)
        // inherits SIGINT ignored, and the JVM then, rightly, never sees Ctrl-C: say so, rather
        // than time out below.
        String ignored =
                Files.readAllLines(Path.of("/proc/self/status")).stream()
                        .filter(l -> l.startsWith("SigIgn:"))
                        .map(l -> l.substring(7).strip())
                        .findFirst()
                        .orElse("0");
        assertEquals(
                0,
                Long.parseLong(ignored, 16) & 0b10,
                "SIGINT is ignored in this test's environment (Maven was started as a background"
                        + " job without job control), so no child can see Ctrl-C: run it in the"
                        + " foreground, or with job control (set -m)");
        for (String signal : List.of("TERM", "INT")) {
            Path out = dir.resolve("signal-" + signal);
            // The signal comes while round k + 1 is in flight, and stalls (ten minutes, unless
            // cancelled): the stop must cancel it, and publishes round k.
            int k = signal.equals("TERM") ? 2 : 3;
            args = new ArrayList<>(flags);
            args.addAll(
                    List.of(
                            "--output",
                            out.toString(),
                            "--conf",
                            "spark.lmspark.test.failOnce=worker="
                                    + (k - 2)
                                    + ",round="
                                    + (k + 1)
                                    + ",afterSteps=1,action=stall"));
            List<String> command = new ArrayList<>(List.of(LauncherIT.LAUNCHER.toString()));
            command.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().put("LMSPARK_NO_BUILD", "1");
            pb.environment().remove("SPARK_HOME");
            pb.environment().putAll(PROBES);
            Path err = dir.resolve("signal-" + signal + ".err");
            pb.redirectOutput(dir.resolve("signal-" + signal + ".out").toFile());
            pb.redirectError(err.toFile());
            Process p = pb.start();
            long deadline = System.nanoTime() + 180_000_000_000L;
            while (!Files.readString(err).contains("train: round " + k + "/6")) {
                assertTrue(p.isAlive(), "train ended early: " + Files.readString(err));
                assertTrue(System.nanoTime() < deadline, "no round " + k + " in 3 minutes");
                Thread.sleep(50);
            }
            Thread.sleep(1000); // round k + 1 is running (stalled)
            long sent = System.nanoTime();
            // The launcher execs the JVM, so its pid is the JVM's.
            new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "no exit a minute after SIG" + signal);
            double seconds = (System.nanoTime() - sent) / 1e9;
            String log = Files.readString(err);
            assertEquals(signal.equals("TERM") ? 143 : 130, p.exitValue(), log);
            System.out.printf("train stopped by SIG%s in %.1f s%n", signal, seconds);
            assertTrue(seconds < 30, "exited " + seconds + " s after the signal (Kubernetes: 30)");
            List<String> lines = log.lines().toList();
            String last = lines.get(lines.size() - 1);
            String round = Files.readString(out.resolve("checkpoints/latest")).strip();
            assertEquals(String.format("round-%06d", k), round);
            assertEquals(
                    "lmspark train: stopped by SIG"
                            + signal
                            + " after round "
                            + k
                            + " of 6; checkpoint "
                            + out.toUri().toString().replaceFirst("^file:///", "file:/")
                            + "checkpoints/"
                            + round
                            + " is published. Continue with: lmspark train --data "
                            + mlm
                            + " --output "
                            + out
                            + " --resume",
                    last);
            ok("verify", "--checkpoint", out.toString());
            ok(
                    "train",
                    "--master",
                    "local[2]",
                    "--data",
                    mlm.toString(),
                    "--output",
                    out.toString(),
                    "--resume");
            assertArrayEquals(model(whole), model(out), "stopped by SIG" + signal + " and resumed");
        }
    }
}
