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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} with separate executor JVMs: {@code --master local-cluster[2,1,2048]} through the
 * launcher (which sets up the Spark home and executor classpath that master needs). Two workers
 * train MLM+NSP and CLM+FIM; a worker whose task is moved to the other executor in mid-run (its
 * first attempt fails there, and Spark excludes that executor for the task) restores its state from
 * the other executor's block manager, and the run ends with the same bytes as an undisturbed one.
 */
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

    static LauncherIT.Result ok(String... args) throws Exception {
        LauncherIT.Result r = launch(args);
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
        Path home = dir.resolve("run-mlm");
        LauncherIT.Result m = train(mlm, home, "--model", "bert-tiny");
        assertTrue(m.err().contains("train: round 3/3"), m.err());
        assertTrue(m.out().contains("round-000003"), m.out());
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
                r.err().contains("worker 1's state was restored on executor")
                        && r.err().contains("(it ran on executor"),
                "the retry ran on the other executor: " + r.err());
        assertArrayEquals(model(home), model(moved));
    }
}
