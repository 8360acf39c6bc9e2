package dev.lmspark.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.deploy.LauncherIT.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A marker secret given to every command — with {@code --conf}, in a {@code --config} file, in a
 * URI, after a misspelt flag — never appears in anything a run prints or writes: stdout, stderr
 * (Spark's own log lines included), the dataset, checkpoints, metrics, the Hugging Face export, the
 * report, or Spark's event log (which records the whole Spark configuration and the JVM's command
 * line).
 *
 * <p>The fast suite gives the secrets to {@code quickstart} (which runs sample-corpus,
 * train-tokenizer, prepare, train, evaluate, generate and report in one JVM) and to the commands it
 * does not run; the slow suite gives them to each of the seven commands on its own as well. This is
 * also the fast suite's run of the packaged quickstart (both objectives and a second run over the
 * first: {@link LauncherIT}, slow suite).
 */
class SecretsIT {
    static final String MARKER = "LmsparkMarker7f3a9c";

    @TempDir Path dir;

    private final List<String> printed = new ArrayList<>();

    /** Runs the launcher with the marker secrets added; returns what it printed. */
    private Result run(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(
                List.of(
                        "--conf",
                        "spark.hadoop.fs.s3a.secret.key=" + MARKER + "-s3",
                        "--conf",
                        "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net="
                                + MARKER
                                + "-azure",
                        "--conf",
                        "spark.lmspark.service.password=" + MARKER + "-pw"));
        Result r = LauncherIT.launch(all.toArray(String[]::new));
        printed.add(r.out() + "\n" + r.err());
        return r;
    }

    private Result ok(String... args) throws Exception {
        Result r = run(args);
        assertEquals(0, r.status(), String.join(" ", args) + ":\n" + r.err());
        return r;
    }

    /** A {@code --config} file with a marker secret that turns Spark's event log on. */
    private Path config(Path events) throws Exception {
        Path config = dir.resolve("secrets.yaml");
        Files.writeString(
                config,
                "conf:\n  spark.hadoop.fs.s3a.access.key: "
                        + MARKER
                        + "-file\n  spark.eventLog.enabled: true\n  spark.eventLog.compress: false\n"
                        + "  spark.eventLog.dir: "
                        + events.toUri()
                        + "\n");
        return config;
    }

    @Test
    void aMarkerSecretAppearsInNothingTheQuickstartAndTheOtherCommandsPrintOrWrite()
            throws Exception {
        String w = dir.toString();
        Path events = Files.createDirectories(dir.resolve("events"));
        Path config = config(events);
        Path work = dir.resolve("qs");
        // One round of a 0.1 MB corpus (13 local steps) keeps the test short; the full demo's
        // losses are measured, not tested.
        Result r =
                ok(
                        "quickstart",
                        "--config",
                        config.toString(),
                        "--workdir",
                        work.toString(),
                        "--size-mb",
                        "0.1",
                        "--rounds",
                        "1");
        assertTrue(r.out().contains("quickstart (mlm) made:"), r.out());
        assertTrue(r.out().contains("validation MLM loss: first"), r.out());
        assertTrue(r.out().contains("evaluate: {\"examples\""), r.out());
        assertTrue(r.out().contains("generated:"), r.out());
        assertFalse(r.err().contains("Exception"), r.err());
        try (Stream<Path> files = Files.list(work.resolve("tokenizer"))) {
            assertEquals(3, files.count());
        }
        assertTrue(
                Files.readString(work.resolve("tokenizer/tokenizer.json"))
                        .contains("\"WordPiece\""));
        assertEquals(
                "round-000001", Files.readString(work.resolve("run/checkpoints/latest")).strip());
        assertTrue(Files.size(work.resolve("report.png")) > 10_000);
        assertTrue(Files.readString(work.resolve("report.html")).contains("data:image/png"));

        // verify --data (a Spark job of its own, 10 s) prints as verify --checkpoint does: slow
        // suite.
        ok("inspect", "--data", work + "/data", "--rows", "1");
        ok("verify", "--checkpoint", work + "/run");
        ok("export", "--checkpoint", work + "/run", "--output", w + "/hf");
        refusals(w);
        assertNothingHoldsTheMarker(events, config, 1);
    }

    @Test
    @Tag("slow")
    void aMarkerSecretAppearsInNoOutputOfAnyCommand() throws Exception {
        String w = dir.toString();
        Path events = Files.createDirectories(dir.resolve("events"));
        Path config = config(events);
        ok("sample-corpus", "--output", w + "/corpus", "--size-mb", "0.2");
        ok(
                "train-tokenizer",
                "--input",
                w + "/corpus",
                "--output",
                w + "/tok",
                "--vocab-size",
                "600",
                "--lowercase");
        ok(
                "prepare",
                "--config",
                config.toString(),
                "--input",
                w + "/corpus",
                "--tokenizer",
                w + "/tok",
                "--output",
                w + "/data",
                "--max-length",
                "32");
        ok(
                "train",
                "--config",
                config.toString(),
                "--data",
                w + "/data",
                "--output",
                w + "/run",
                "--model",
                "bert-tiny",
                "--rounds",
                "1",
                "--local-steps",
                "2",
                "--batch-size",
                "2",
                "--eval-every",
                "1");
        ok("inspect", "--data", w + "/data", "--rows", "1");
        ok("verify", "--data", w + "/data");
        ok("verify", "--checkpoint", w + "/run");
        ok("evaluate", "--checkpoint", w + "/run", "--data", w + "/data");
        ok("generate", "--checkpoint", w + "/run", "--prompt", "the", "--max-new-tokens", "3");
        ok("export", "--checkpoint", w + "/run", "--output", w + "/hf");
        ok("report", "--run", w + "/run", "--output", w + "/report.html");
        refusals(w);
        assertNothingHoldsTheMarker(events, config, 2);
    }

    /**
     * Refusals that echo what they were given: an unknown flag with a secret after it, a secret in
     * a URI, a --config file that is not YAML.
     */
    private void refusals(String w) throws Exception {
        Result unknown =
                run(
                        "sample-corpus",
                        "--output",
                        w + "/x",
                        "--cnof",
                        "spark.hadoop.fs.s3a.secret.key=" + MARKER + "-typo",
                        "--api-token=" + MARKER + "-flag",
                        "--password",
                        MARKER + "-next");
        assertEquals(2, unknown.status(), unknown.err());
        assertTrue(unknown.err().contains("redacted"), unknown.err());
        Result uri = run("sample-corpus", "--output", "s3a://AKIA:" + MARKER + "-uri@bucket/c");
        assertEquals(2, uri.status(), uri.err());
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(
                broken, "conf:\n  spark.x.secret: " + MARKER + "-yaml\n  spark.y: [unclosed\n");
        Result yaml = run("sample-corpus", "--config", broken.toString(), "--output", w + "/y");
        assertEquals(2, yaml.status(), yaml.err());
    }

    /**
     * Nothing printed and no file under the test's folder but the two YAML files holds the marker;
     * {@code applications} Spark applications wrote event logs, which record the (redacted) conf.
     */
    private void assertNothingHoldsTheMarker(Path events, Path config, int applications)
            throws Exception {
        for (String p : printed) {
            assertFalse(p.contains(MARKER), "printed a secret:\n" + p);
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        try (Stream<Path> list = Files.list(events)) {
            assertEquals(applications, list.count(), "the Spark applications' event logs");
        }
        // Spark 4 rolls event logs: a folder per application, of event files (left uncompressed
        // above, so that the marker would be seen).
        List<Path> eventFiles = files.stream().filter(f -> f.startsWith(events)).toList();
        assertFalse(eventFiles.isEmpty());
        StringBuilder all = new StringBuilder();
        for (Path f : eventFiles) {
            all.append(Files.readString(f, StandardCharsets.ISO_8859_1));
        }
        String log = all.toString();
        assertTrue(
                log.contains("spark.hadoop.fs.s3a.secret.key"),
                "the event log has the conf: " + log.substring(0, Math.min(3000, log.length())));
        assertTrue(log.contains("redacted"), "and redacts it");
        assertTrue(files.size() > 30, files.toString());
        Path broken = dir.resolve("broken.yaml");
        for (Path f : files) {
            if (f.equals(config) || f.equals(broken)) {
                continue;
            }
            byte[] bytes = Files.readAllBytes(f);
            assertFalse(
                    new String(bytes, StandardCharsets.ISO_8859_1).contains(MARKER),
                    f + " holds a secret");
        }
    }
}
