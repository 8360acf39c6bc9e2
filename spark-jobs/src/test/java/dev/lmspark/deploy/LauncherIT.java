package dev.lmspark.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged launcher {@code deploy/bin/lmspark}, run as a user runs it (after {@code mvn
 * package}, so it finds the application built and does not rebuild).
 */
class LauncherIT {
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path LAUNCHER = ROOT.resolve("deploy/bin/lmspark");

    @TempDir Path dir;

    record Result(int status, String out, String err) {}

    static Result launch(Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("LMSPARK_NO_BUILD", "1");
        pb.environment().remove("SPARK_HOME");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("launcher", ".out");
        Path err = Files.createTempFile("launcher", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "launcher timed out: " + command);
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    static Result launch(String... args) throws IOException, InterruptedException {
        return launch(Map.of(), args);
    }

    @Test
    void versionHelpAndOneLineErrors() throws Exception {
        Result version = launch("--version");
        assertEquals(0, version.status(), version.err());
        assertTrue(version.out().startsWith("lmspark "), version.out());
        Result help = launch("train-tokenizer", "--help");
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().contains("--vocab-size"), help.out());
        Result bad = launch("sample-corpus", "--output", dir.resolve("x").toString(), "--bogus");
        assertEquals(2, bad.status());
        assertEquals(1, bad.err().lines().count(), bad.err());
        Result badValue =
                launch("sample-corpus", "--output", dir.resolve("x").toString(), "--size-mb", "-1");
        assertTrue(badValue.status() != 0);
        assertEquals(1, badValue.err().lines().count(), badValue.err());
    }

    /**
     * Slow suite: the fast suite's quickstart is {@link SecretsIT}'s (mlm, one round, with the
     * outputs and printed lines checked as here).
     */
    @Test
    @Tag("slow")
    void quickstartRunsTheWholePipelineForBothObjectives() throws Exception {
        for (String objective : List.of("mlm", "clm")) {
            Path work = dir.resolve(objective);
            // One round keeps the test short; the full demo's losses are measured, not tested.
            Result r =
                    launch(
                            "quickstart",
                            "--workdir",
                            work.toString(),
                            "--objective",
                            objective,
                            "--size-mb",
                            "1",
                            "--rounds",
                            "1");
            assertEquals(0, r.status(), r.err());
            assertTrue(r.out().contains("quickstart (" + objective + ") made:"), r.out());
            assertTrue(
                    r.out().contains("validation " + objective.toUpperCase() + " loss: first"),
                    r.out());
            assertTrue(r.out().contains("evaluate: {\"examples\""), r.out());
            assertTrue(r.out().contains("generated:"), r.out());
            assertFalse(r.err().contains("Exception"), r.err());
            try (Stream<Path> files = Files.list(work.resolve("tokenizer"))) {
                assertEquals(3, files.count());
            }
            String tokenizer = Files.readString(work.resolve("tokenizer/tokenizer.json"));
            assertTrue(
                    tokenizer.contains(
                            objective.equals("mlm") ? "\"WordPiece\"" : "\"ByteLevel\""));
            assertEquals(
                    "round-000001",
                    Files.readString(work.resolve("run/checkpoints/latest")).strip());
            assertTrue(Files.size(work.resolve("report.png")) > 10_000);
            assertTrue(Files.readString(work.resolve("report.html")).contains("data:image/png"));
        }
        // A second run replaces the demo's own outputs.
        Path work = dir.resolve("clm");
        assertEquals(
                0,
                launch(
                                "quickstart",
                                "--workdir",
                                work.toString(),
                                "--objective",
                                "clm",
                                "--size-mb",
                                "0.5",
                                "--rounds",
                                "1")
                        .status());
    }

    @Test
    void clusterMastersGoThroughSparkSubmit() throws Exception {
        Path sparkHome = dir.resolve("spark");
        Files.createDirectories(sparkHome.resolve("bin"));
        Path recorded = dir.resolve("submit-args");
        Path submit = sparkHome.resolve("bin/spark-submit");
        Files.writeString(
                submit, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > " + recorded + "\n");
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));

        Result noHome =
                launch("train-tokenizer", "--master", "yarn", "--input", "a", "--output", "b");
        assertEquals(2, noHome.status());
        assertTrue(noHome.err().contains("SPARK_HOME"), noHome.err());
        assertEquals(1, noHome.err().lines().count(), noHome.err());

        // Stand in for `mvn -Pcluster package`: a cluster-lib beside the jar.
        Path clusterLib = ROOT.resolve("spark-jobs/target/cluster-lib");
        Files.createDirectories(clusterLib);
        Path picocli;
        try (Stream<Path> lib = Files.list(ROOT.resolve("spark-jobs/target/lib"))) {
            picocli =
                    lib.filter(p -> p.getFileName().toString().startsWith("picocli"))
                            .findFirst()
                            .orElseThrow();
        }
        Files.copy(picocli, clusterLib.resolve(picocli.getFileName()));
        try {
            Result r =
                    launch(
                            Map.of("SPARK_HOME", sparkHome.toString()),
                            "train-tokenizer",
                            "--master",
                            "yarn",
                            "--conf",
                            "spark.executor.memory=8g",
                            "--input",
                            "hdfs:///corpus",
                            "--output",
                            "hdfs:///tok");
            assertEquals(0, r.status(), r.err());
            List<String> args = Files.readAllLines(recorded, StandardCharsets.UTF_8);
            assertEquals("--class", args.get(0));
            assertEquals("dev.lmspark.cli.Main", args.get(1));
            assertEquals(List.of("--master", "yarn"), args.subList(2, 4));
            assertTrue(
                    args.get(args.indexOf("--jars") + 1)
                            .endsWith(picocli.getFileName().toString()));
            assertTrue(args.contains("spark.executor.memory=8g"), args.toString());
            int jar = args.indexOf("train-tokenizer") - 1;
            assertTrue(args.get(jar).matches(".*/lmspark-spark-jobs-.*\\.jar"), args.get(jar));
            assertEquals(
                    List.of(
                            "train-tokenizer",
                            "--master",
                            "yarn",
                            "--conf",
                            "spark.executor.memory=8g",
                            "--input",
                            "hdfs:///corpus",
                            "--output",
                            "hdfs:///tok"),
                    args.subList(jar + 1, args.size()));
            // A --config file's master reaches the launcher, which submits to it.
            Path config = dir.resolve("cluster.yaml");
            Files.writeString(config, "master: \"yarn\"  # the cluster\nvocab_size: 2000\n");
            Result fromConfig =
                    launch(
                            Map.of("SPARK_HOME", sparkHome.toString()),
                            "train-tokenizer",
                            "--config",
                            config.toString(),
                            "--input",
                            "hdfs:///corpus",
                            "--output",
                            "hdfs:///tok");
            assertEquals(0, fromConfig.status(), fromConfig.err());
            List<String> submitted = Files.readAllLines(recorded, StandardCharsets.UTF_8);
            assertEquals(List.of("--master", "yarn"), submitted.subList(2, 4));
        } finally {
            try (Stream<Path> walk = Files.walk(clusterLib)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void mesosIsRefusedAndHadoopConfDirIsHonouredInLocalMode() throws Exception {
        Path json = dir.resolve("mesos.json");
        Files.writeString(json, "{\"size_mb\": 0.01,\n  \"master\": \"mesos://m:5050\"}\n");
        Result mesos = launch("sample-corpus", "--config", json.toString(), "--output", dir + "/m");
        assertEquals(2, mesos.status());
        assertEquals(1, mesos.err().lines().count(), mesos.err());
        assertTrue(mesos.err().contains("mesos://m:5050") && mesos.err().contains("yarn"));

        // A core-site.xml setting in HADOOP_CONF_DIR reaches the job: here one that breaks file:.
        Path conf = Files.createDirectories(dir.resolve("hadoop-conf"));
        Files.writeString(
                conf.resolve("core-site.xml"),
                "<configuration><property><name>fs.file.impl</name>"
                        + "<value>dev.lmspark.NoSuchFileSystem</value></property></configuration>");
        String[] corpus = {"sample-corpus", "--size-mb", "0.01", "--output", dir + "/c"};
        Result broken = launch(Map.of("HADOOP_CONF_DIR", conf.toString()), corpus);
        assertEquals(1, broken.status(), broken.err());
        assertTrue(broken.err().contains("NoSuchFileSystem"), broken.err());
        Result plain = launch(corpus);
        assertEquals(0, plain.status(), plain.err());
    }

    @Test
    void dryRunPrintsTheCommandWithSecretsRedacted() throws Exception {
        // No SPARK_HOME, no cluster, nothing built for it: only the command is printed.
        Result r =
                launch(
                        "train",
                        "--master",
                        "yarn",
                        "--conf",
                        "spark.hadoop.fs.s3a.secret.key=DryRunSecret1",
                        "--conf",
                        "spark.executor.extraJavaOptions=-XX:+UseG1GC",
                        "--data",
                        "s3a://AKIA:DryRunSecret2@bucket/data",
                        "--output",
                        "hdfs:///runs/a",
                        "--dry-run");
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(
                r.out().contains("/bin/spark-submit --class dev.lmspark.cli.Main --master yarn"),
                r.out());
        assertTrue(
                r.out().contains("--conf spark.hadoop.fs.s3a.secret.key=*********(redacted)"),
                r.out());
        assertTrue(r.out().contains("--data s3a://*********(redacted)@bucket/data"), r.out());
        // A user's executor JVM flags are added to the launcher's, not put in their place.
        assertTrue(
                r.out()
                        .contains(
                                "--conf 'spark.executor.extraJavaOptions=-Dai.djl.offline=true"
                                        + " -XX:+UseG1GC' --conf spark.executorEnv"),
                r.out());
        assertTrue(r.out().endsWith("--output hdfs:///runs/a\n"), r.out());
        assertFalse((r.out() + r.err()).contains("DryRunSecret"), r.out() + r.err());
        assertFalse(r.out().contains("--dry-run"), r.out());
        Result local = launch("prepare", "--master", "local[2]", "--dry-run");
        assertEquals(0, local.status(), local.err());
        assertTrue(local.out().contains("dev.lmspark.cli.Main prepare --master 'local[2]'"));
    }

    @Test
    void aFailedFirstBuildPrintsNoColourCodes() throws Exception {
        // A copy of the launcher in an unbuilt tree, with an mvn that prints what Maven 3.8 does
        // (colour resets even with -B -q) and fails.
        Path root = dir.resolve("tree");
        Files.createDirectories(root.resolve("deploy/bin"));
        Files.createDirectories(root.resolve("deploy/conf"));
        Files.copy(LAUNCHER, root.resolve("deploy/bin/lmspark"));
        Files.writeString(root.resolve("deploy/conf/jvm.options"), "");
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path mvn = bin.resolve("mvn");
        Files.writeString(
                mvn,
                "#!/usr/bin/env bash\nprintf '\\033[0m\\033[1;31m[ERROR]\\033[m compile failed\\n'\n"
                        + "exit 1\n");
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb =
                new ProcessBuilder(root.resolve("deploy/bin/lmspark").toString(), "--version");
        pb.environment().remove("LMSPARK_NO_BUILD");
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(2, p.exitValue(), all);
        assertFalse(all.contains("\u001b"), all);
        assertTrue(all.contains("[ERROR] compile failed"), all);
        assertTrue(all.contains("the build failed"), all);
    }
}
