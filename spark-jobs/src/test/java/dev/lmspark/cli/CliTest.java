package dev.lmspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The command line without Spark: help, version, flag errors, config files. */
class CliTest {

    @TempDir Path dir;

    static CommandLineRun run(String... args) {
        return CommandLineRun.of(args);
    }

    static final List<String> COMMANDS =
            List.of(
                    "quickstart",
                    "sample-corpus",
                    "train-tokenizer",
                    "train",
                    "evaluate",
                    "generate",
                    "export",
                    "report");

    @Test
    void helpAndVersion() {
        CommandLineRun help = run("--help");
        assertEquals(0, help.status());
        for (String command : COMMANDS) {
            assertTrue(help.out().contains(command), help.out());
        }
        CommandLineRun version = run("--version");
        assertEquals(0, version.status());
        assertTrue(version.out().startsWith("lmspark 0."), version.out());
        assertTrue(version.out().contains("Spark 4.1"), version.out());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "quickstart",
                "sample-corpus",
                "train-tokenizer",
                "train",
                "evaluate",
                "generate",
                "export",
                "report"
            })
    void everyCommandHasHelpWithTheCommonFlags(String command) {
        CommandLineRun help = run(command, "--help");
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().startsWith("Usage: lmspark " + command), help.out());
        for (String flag : List.of("--master", "--conf", "--config", "--help", "--version")) {
            assertTrue(help.out().contains(flag), command + " lacks " + flag);
        }
        assertEquals(0, run("help", command).status());
    }

    @Test
    void noCommandIsAUsageError() {
        CommandLineRun r = run();
        assertEquals(Main.USAGE, r.status());
        assertEquals(1, r.errLines().size(), r.err());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "sample-corpus --output x --bogus",
                "sample-corpus --output x --kind poetry",
                "sample-corpus --output x --size-mb lots",
                "sample-corpus --output x --size-mb -3",
                "sample-corpus --output x --seed 1.5",
                "train-tokenizer --input a.txt --output x --type sentencepiece",
                "train-tokenizer --input a.txt --output x --vocab-size many",
                "train-tokenizer --input a.txt --output x --vocab-size 100 --type bpe",
                "train-tokenizer --input a.txt --output x --type bpe --lowercase",
                "train-tokenizer --input a.txt --output x --min-frequency -1",
                "train-tokenizer --input a.txt --output x --input-format xml",
                "train-tokenizer --output x",
                "quickstart --objective seq2seq",
                "report --run x --output report.pdf",
                "report --output report.png",
                "frobnicate"
            })
    void badFlagsEndWithOneLineAndNonZeroExit(String line) {
        CommandLineRun r = run(line.split(" "));
        assertTrue(r.status() != 0, line);
        assertEquals(1, r.errLines().size(), line + " printed:\n" + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void errorsNameTheValueAndTheFix() {
        CommandLineRun kind = run("sample-corpus", "--output", "x", "--kind", "poetry");
        assertTrue(
                kind.err().contains("'poetry'") && kind.err().contains("prose, code or seq2seq"),
                kind.err());
        CommandLineRun vocab =
                run(
                        "train-tokenizer",
                        "--input",
                        "a",
                        "--output",
                        "x",
                        "--type",
                        "bpe",
                        "--vocab-size",
                        "100");
        assertTrue(
                vocab.err().contains("--vocab-size 100") && vocab.err().contains("at least 262"),
                vocab.err());
    }

    @Test
    void credentialsInUrisAreRefusedAndNeverEchoed() {
        CommandLineRun r = run("sample-corpus", "--output", "s3a://AKIAKEY:s3cr3t@bucket/corpus");
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.status() != 0);
        assertTrue(r.err().contains("credentials"), r.err());
        assertFalse(r.err().contains("s3cr3t") || r.err().contains("AKIAKEY"), r.err());
        CommandLineRun input =
                run(
                        "train-tokenizer",
                        "--input",
                        "hdfs://user:pw@nn/x",
                        "--output",
                        dir.resolve("t").toString());
        assertFalse(input.err().contains("pw@"), input.err());
        assertTrue(input.err().contains("credentials"), input.err());
        for (String[] report :
                List.of(
                        new String[] {"report", "--run", "s3a://AKIAKEY:s3cr3t@bucket/run"},
                        new String[] {
                            "report", "--run", "x", "--output", "s3a://AKIAKEY:s3cr3t@b/r.pdf"
                        })) {
            CommandLineRun r2 = run(report);
            assertEquals(1, r2.errLines().size(), r2.err());
            assertTrue(r2.err().contains("credentials"), r2.err());
            assertFalse(r2.err().contains("s3cr3t") || r2.err().contains("AKIAKEY"), r2.err());
        }
    }

    @Test
    void configFileSuppliesFlagsAndTheCommandLineWins() throws IOException {
        Path yaml = dir.resolve("corpus.yaml");
        Files.writeString(
                yaml,
                "output: " + dir.resolve("from-config") + "\nkind: code\nsize_mb: 0.05\nseed: 3\n");
        CommandLineRun fromFile = run("sample-corpus", "--config", yaml.toString());
        assertEquals(0, fromFile.status(), fromFile.err());
        assertTrue(Files.isDirectory(dir.resolve("from-config")));
        assertTrue(Files.readString(dir.resolve("from-config/part-00000.jsonl")).contains("def "));

        Path json = dir.resolve("corpus.json");
        Files.writeString(
                json,
                "{\"output\": \""
                        + dir.resolve("ignored")
                        + "\", \"kind\": \"code\", \"size-mb\": 0.05}");
        CommandLineRun overridden =
                run(
                        "sample-corpus",
                        "--config",
                        json.toString(),
                        "--output",
                        dir.resolve("cli").toString(),
                        "--kind",
                        "prose");
        assertEquals(0, overridden.status(), overridden.err());
        assertFalse(Files.exists(dir.resolve("ignored")));
        assertFalse(Files.readString(dir.resolve("cli/part-00000.jsonl")).contains("def "));

        Files.writeString(json, "{\"output\": \"x\", \"colour\": \"blue\"}");
        CommandLineRun unknown = run("sample-corpus", "--config", json.toString());
        assertEquals(Main.USAGE, unknown.status());
        assertTrue(
                unknown.err().contains("'colour' is not a flag of lmspark sample-corpus"),
                unknown.err());
        CommandLineRun missing =
                run("sample-corpus", "--config", dir.resolve("nope.yaml").toString());
        assertEquals(1, missing.errLines().size(), missing.err());
        assertTrue(missing.status() != 0);
    }

    /** The Spark settings and master {@code args} resolve to, after {@code --config} expansion. */
    private static SparkOptions sparkOptions(String... args) {
        CommandLine cli =
                Main.commandLine(
                        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        CommandLine.ParseResult parsed = cli.parseArgs(ConfigFile.expand(cli, args));
        return ((SampleCorpusCommand) parsed.subcommand().commandSpec().userObject()).sparkOptions;
    }

    @Test
    void configConfEntriesMergeWithConfFlagsAndTheCommandLineWinsPerKey() throws IOException {
        Path yaml = dir.resolve("conf.yaml");
        Files.writeString(
                yaml, "output: x\nmaster: local[3]\nconf:\n  spark.a: file\n  spark.b: file\n");
        SparkOptions fileOnly = sparkOptions("sample-corpus", "--config", yaml.toString());
        assertEquals("local[3]", fileOnly.master());
        assertEquals(Map.of("spark.a", "file", "spark.b", "file"), fileOnly.conf());
        SparkOptions merged =
                sparkOptions(
                        "sample-corpus",
                        "--config",
                        yaml.toString(),
                        "--conf",
                        "spark.b=cli",
                        "--conf",
                        "spark.c=cli",
                        "--master",
                        "local[1]");
        assertEquals("local[1]", merged.master());
        assertEquals(Map.of("spark.a", "file", "spark.b", "cli", "spark.c", "cli"), merged.conf());

        Files.writeString(yaml, "output: x\nconf: spark.a=file\n");
        CommandLineRun notAnObject = run("sample-corpus", "--config", yaml.toString());
        assertEquals(Main.USAGE, notAnObject.status());
        assertTrue(notAnObject.err().contains("'conf' must be an object"), notAnObject.err());
        Files.writeString(yaml, "output: {path: x}\n");
        CommandLineRun object = run("sample-corpus", "--config", yaml.toString());
        assertEquals(Main.USAGE, object.status());
        assertTrue(object.err().contains("'output' takes a value"), object.err());
    }

    @Test
    void sampleCorpusIsDeterministicAndRefusesAnExistingOutput() throws IOException {
        String a = dir.resolve("a").toString();
        String b = dir.resolve("b").toString();
        assertEquals(
                0, run("sample-corpus", "--output", a, "--size-mb", "0.2", "--seed", "9").status());
        assertEquals(
                0, run("sample-corpus", "--output", b, "--size-mb", "0.2", "--seed", "9").status());
        assertEquals(
                -1L,
                Files.mismatch(Path.of(a, "part-00000.jsonl"), Path.of(b, "part-00000.jsonl")));
        assertTrue(Files.size(Path.of(a, "part-00000.jsonl")) >= 200 * 1024);
        try (var files = Files.list(Path.of(a))) {
            assertEquals(
                    List.of("part-00000.jsonl"),
                    files.map(p -> p.getFileName().toString()).toList());
        }

        CommandLineRun again =
                run("sample-corpus", "--output", a, "--size-mb", "0.1", "--seed", "1");
        assertEquals(Main.USAGE, again.status());
        assertTrue(
                again.err().contains("already exists") && again.err().contains("--overwrite"),
                again.err());
        assertEquals(
                -1L,
                Files.mismatch(Path.of(a, "part-00000.jsonl"), Path.of(b, "part-00000.jsonl")));
        assertEquals(
                0,
                run(
                                "sample-corpus",
                                "--output",
                                a,
                                "--size-mb",
                                "0.1",
                                "--seed",
                                "1",
                                "--overwrite")
                        .status());
        assertTrue(
                Files.mismatch(Path.of(a, "part-00000.jsonl"), Path.of(b, "part-00000.jsonl"))
                        >= 0);
        try (var siblings = Files.list(dir)) {
            assertTrue(
                    siblings.noneMatch(p -> p.getFileName().toString().startsWith(".")),
                    "no leftovers");
        }
    }
}
