package dev.lmspark.jobs;

import static dev.lmspark.jobs.PrepareFixture.manifest;
import static dev.lmspark.jobs.PrepareFixture.ok;
import static dev.lmspark.jobs.PrepareFixture.rows;
import static dev.lmspark.jobs.PrepareFixture.shardBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code prepare --incremental}, and {@code verify} catching a flipped byte. */
@ExtendWith(SharedSpark.class)
class PrepareIncrementalTest {
    @TempDir static Path dir;
    static PrepareFixture f;

    @BeforeAll
    static void corpora() {
        f = PrepareFixture.shared();
    }

    @Test
    void newFilesBecomeANewIncrementAndOldShardsStayByteIdentical() throws Exception {
        Path inputs = dir.resolve("inputs");
        Files.createDirectories(inputs);
        List<String> lines = Files.readAllLines(f.prose.resolve("part-00000.jsonl"));
        int half = lines.size() / 2;
        Files.write(inputs.resolve("a.jsonl"), lines.subList(0, half));
        Path data = dir.resolve("data");
        String[] args = {
            "prepare",
            "--input",
            inputs.toString(),
            "--tokenizer",
            f.wordpiece.toString(),
            "--output",
            data.toString(),
            "--nsp",
            "--max-length",
            "64",
            "--shards",
            "2",
            "--validation-fraction",
            "0.1"
        };
        ok(args);
        Map<String, byte[]> before = shardBytes(data);
        JsonNode first = manifest(data);

        Files.write(inputs.resolve("b.jsonl"), lines.subList(half, lines.size()));
        String[] incremental = java.util.Arrays.copyOf(args, args.length + 1);
        incremental[args.length] = "--incremental";
        ok(incremental);
        Map<String, byte[]> after = shardBytes(data);
        before.forEach(
                (name, bytes) -> assertArrayEquals(bytes, after.get(name), name + " unchanged"));
        assertTrue(after.size() > before.size(), "new shards: " + after.keySet());
        JsonNode second = manifest(data);
        assertEquals(2, second.path("increments").size());
        assertEquals(1, second.path("increments").get(1).path("files").size());
        assertTrue(
                second.path("increments")
                        .get(1)
                        .path("files")
                        .get(0)
                        .path("path")
                        .asText()
                        .endsWith("b.jsonl"));
        assertEquals(half, second.path("increments").get(1).path("first_doc_id").asLong());
        for (String split : List.of("train", "validation")) {
            long old = first.path("num_examples").path(split).asLong();
            long total = second.path("num_examples").path(split).asLong();
            assertTrue(total > old, split);
            List<Row> rows = rows(data, split);
            assertEquals(total, rows.size());
            for (int i = 0; i < rows.size(); i++) {
                assertEquals(i, rows.get(i).getLong(0), "example_id continues densely");
                long doc = rows.get(i).getLong(rows.get(i).fieldIndex("doc_id"));
                assertEquals(i >= old, doc >= half, "increment documents come after the old ones");
            }
        }
        assertEquals(0, CommandLineRun.of("verify", "--data", data.toString()).status());

        CommandLineRun again = CommandLineRun.of(incremental);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("is up to date; no new input files"), again.out());
        assertEquals(2, manifest(data).path("increments").size());
        Map<String, byte[]> still = shardBytes(data);
        after.forEach((name, bytes) -> assertArrayEquals(bytes, still.get(name)));
    }

    @Test
    void verifyNamesTheFileWithAFlippedByte() throws Exception {
        Path data = dir.resolve("flip");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                data.toString(),
                "--max-length",
                "32",
                "--shards",
                "2");
        assertEquals(0, CommandLineRun.of("verify", "--data", data.toString()).status());
        Path shard = data.resolve("train/part-00001.parquet");
        byte[] bytes = Files.readAllBytes(shard);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(shard, bytes);
        CommandLineRun r = CommandLineRun.of("verify", "--data", data.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("train/part-00001.parquet: SHA-256"), r.err());
        assertEquals(1, r.errorLines().size(), r.err());
    }

    /** A base dataset of {@code a.jsonl} (half the prose corpus), with {@code b.jsonl} waiting. */
    private static String[] base(String name, String... flags) throws Exception {
        Path inputs = Files.createDirectories(dir.resolve(name + "-inputs"));
        List<String> lines = Files.readAllLines(f.prose.resolve("part-00000.jsonl"));
        int half = lines.size() / 2;
        Files.write(inputs.resolve("a.jsonl"), lines.subList(0, half));
        List<String> args =
                new java.util.ArrayList<>(
                        List.of(
                                "prepare",
                                "--input",
                                inputs.toString(),
                                "--output",
                                dir.resolve(name).toString(),
                                "--shards",
                                "2"));
        args.addAll(List.of(flags));
        ok(args.toArray(String[]::new));
        Files.write(inputs.resolve("b.jsonl"), lines.subList(half, lines.size()));
        args.add("--incremental");
        return args.toArray(String[]::new);
    }

    /** {@code args} with {@code flag}'s value replaced (or the flag added, or dropped if null). */
    private static String[] with(String[] args, String flag, String value) {
        List<String> out = new java.util.ArrayList<>(List.of(args));
        int at = out.indexOf(flag);
        boolean isSwitch = value != null && value.isEmpty();
        if (at >= 0) {
            boolean hasValue = at + 1 < out.size() && !out.get(at + 1).startsWith("--");
            if (hasValue) {
                out.remove(at + 1);
            }
            out.remove(at);
        }
        if (value != null) {
            out.add(flag);
            if (!isSwitch) {
                out.add(value);
            }
        }
        return out.toArray(String[]::new);
    }

    private static void refused(String[] args, String expected) throws Exception {
        Path data = Path.of(args[List.of(args).indexOf("--output") + 1]);
        byte[] manifest = Files.readAllBytes(data.resolve("manifest.json"));
        Map<String, byte[]> shards = shardBytes(data);
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
        assertEquals(1, r.errorLines().size(), r.err());
        assertTrue(r.errorLines().get(0).contains(expected), expected + " not in " + r.err());
        assertArrayEquals(manifest, Files.readAllBytes(data.resolve("manifest.json")));
        assertEquals(shards.keySet(), shardBytes(data).keySet());
    }

    @Test
    void anIncrementRefusesEveryRecordedSettingChanged() throws Exception {
        String[] mlm =
                base(
                        "contract-mlm",
                        "--tokenizer",
                        f.wordpiece.toString(),
                        "--nsp",
                        "--max-length",
                        "64",
                        "--seed",
                        "3");
        refused(
                with(with(mlm, "--nsp", null), "--objective", "clm"),
                "--objective is clm here, but");
        refused(with(mlm, "--max-length", "32"), "--max-length is 32 here, but");
        refused(with(mlm, "--max-length", "32"), "was prepared with 64");
        refused(with(mlm, "--tokenizer", f.bpe.toString()), "is not the tokenizer");
        refused(with(mlm, "--masking", "fixed-count"), "--masking is fixed-count here");
        refused(with(mlm, "--mlm-probability", "0.2"), "--mlm-probability is 0.2 here");
        refused(with(mlm, "--whole-word-mask", ""), "--whole-word-mask is true here");
        refused(with(mlm, "--nsp", null), "--nsp is false here, but");
        refused(with(mlm, "--padding-side", "left"), "--padding-side is left here");
        refused(with(mlm, "--seed", "4"), "--seed is 4 here, but");
        refused(with(mlm, "--seed", null), "--seed is 42 here, but");
        refused(with(mlm, "--validation-fraction", "0.2"), "--validation-fraction is 0.2");
        refused(with(mlm, "--mask-replace-prob", "0.7"), "--mask-replace-prob is 0.7 here");
        refused(with(mlm, "--random-replace-prob", "0.2"), "--random-replace-prob is 0.2");
        refused(with(mlm, "--max-predictions", "5"), "--max-predictions is 5 here");
        refused(with(mlm, "--short-seq-prob", "0.3"), "--short-seq-prob is 0.3 here");
        refused(with(mlm, "--min-chars", "10"), "--min-chars is 10 here, but");
        refused(with(mlm, "--dedup", ""), "--dedup is true here, but");
        refused(with(mlm, "--lowercase", ""), "--lowercase is true here, but");
        refused(with(mlm, "--text-field", "body"), "--text-field is body here, but");

        String[] clm =
                base(
                        "contract-clm",
                        "--tokenizer",
                        f.bpe.toString(),
                        "--objective",
                        "clm",
                        "--pack",
                        "--fim-rate",
                        "0.5",
                        "--max-length",
                        "64");
        refused(with(clm, "--fim-rate", "0.2"), "--fim-rate is 0.2 here, but");
        refused(with(clm, "--fim-spm-rate", "0.1"), "--fim-spm-rate is 0.1 here");
        refused(with(clm, "--fim-level", "context"), "--fim-level is context here");
        refused(with(clm, "--pack", null), "--pack is false here, but");

        // The unchanged command still adds b.jsonl, and the next one is up to date.
        ok(mlm);
        assertEquals(2, manifest(dir.resolve("contract-mlm")).path("increments").size());
        assertEquals(0, CommandLineRun.of("verify", "--data", dir + "/contract-mlm").status());
    }

    @Test
    void anIncrementRefusesARecordedInputFileThatChangedOrVanished() throws Exception {
        String[] grown = base("grown", "--tokenizer", f.wordpiece.toString());
        Path a = dir.resolve("grown-inputs/a.jsonl");
        Files.writeString(
                a, "{\"text\": \"one more line\"}\n", java.nio.file.StandardOpenOption.APPEND);
        refused(grown, "a.jsonl changed since increment 0 recorded it");

        // Same size and modification time, other bytes: only the SHA-256 tells.
        String[] edited = base("edited", "--tokenizer", f.wordpiece.toString());
        Path e = dir.resolve("edited-inputs/a.jsonl");
        byte[] bytes = Files.readAllBytes(e);
        var time = Files.getLastModifiedTime(e);
        int at = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("e");
        bytes[at] = 'E';
        Files.write(e, bytes);
        Files.setLastModifiedTime(e, time);
        refused(edited, "a.jsonl changed since increment 0 recorded it (its SHA-256 differs)");

        String[] removed = base("removed", "--tokenizer", f.wordpiece.toString());
        Files.delete(dir.resolve("removed-inputs/a.jsonl"));
        refused(removed, "a.jsonl, recorded by increment 0 of");
        refused(removed, "no longer exists");
    }

    @Test
    void verifyRefusesShardsOfAnotherLengthOrObjective() throws Exception {
        String[] flags = {"--tokenizer", f.wordpiece.toString(), "--shards", "2"};
        Path at64 = dir.resolve("at64");
        Path at32 = dir.resolve("at32");
        Path clm = dir.resolve("clm-shards");
        // The first documents of the corpora are enough: only the shards' shapes matter here.
        Path prose = head(f.prose, "prose-head", 80);
        List<String> common = List.of("prepare", "--input", prose.toString());
        for (Path out : List.of(at64, at32)) {
            List<String> args = new java.util.ArrayList<>(common);
            args.addAll(List.of(flags));
            args.addAll(
                    List.of("--output", out.toString(), "--max-length", out == at64 ? "64" : "32"));
            ok(args.toArray(String[]::new));
        }
        ok(
                "prepare",
                "--input",
                head(f.code, "code-head", 80).toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--objective",
                "clm",
                "--max-length",
                "64",
                "--output",
                clm.toString());
        // A shard of rows of 32 in a dataset of 64, its manifest entry made to match its bytes,
        // so that only the rows tell.
        CommandLineRun mixed = verifyWithShardFrom(at64, at32, "mixed[v2]"); // a glob character
        assertTrue(mixed.err().contains("row(s) whose arrays are not 64 long"), mixed.err());
        CommandLineRun other = verifyWithShardFrom(at64, clm, "other");
        assertTrue(other.err().contains("columns [example_id:INT64"), other.err());
        assertTrue(other.err().contains("the manifest's mlm dataset has"), other.err());
    }

    /** A corpus of the first {@code lines} documents of {@code corpus}'s first file. */
    private static Path head(Path corpus, String name, int lines) throws java.io.IOException {
        Path out = Files.createDirectories(dir.resolve(name));
        List<String> docs = Files.readAllLines(corpus.resolve("part-00000.jsonl"));
        Files.write(out.resolve("part-00000.jsonl"), docs.subList(0, Math.min(lines, docs.size())));
        return out;
    }

    private static CommandLineRun verifyWithShardFrom(Path data, Path donor, String name)
            throws Exception {
        Path copy = dir.resolve(name);
        PrepareFixture.copyTree(data, copy);
        String shard = "train/part-00000.parquet";
        Files.copy(
                donor.resolve(shard),
                copy.resolve(shard),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        byte[] bytes = Files.readAllBytes(copy.resolve(shard));
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) manifest(copy);
        long rowsBefore = 0;
        long rowsAfter = 0;
        for (JsonNode s : json.path("shards")) {
            if (s.path("path").asText().equals(shard)) {
                var o = (com.fasterxml.jackson.databind.node.ObjectNode) s;
                rowsBefore = o.path("rows").asLong();
                o.put("bytes", bytes.length);
                o.put(
                        "sha256",
                        java.util.HexFormat.of()
                                .formatHex(
                                        java.security.MessageDigest.getInstance("SHA-256")
                                                .digest(bytes)));
                for (JsonNode d : manifest(donor).path("shards")) {
                    if (d.path("path").asText().equals(shard)) {
                        rowsAfter = d.path("rows").asLong();
                        o.put("rows", rowsAfter);
                    }
                }
            }
        }
        var examples = (com.fasterxml.jackson.databind.node.ObjectNode) json.path("num_examples");
        examples.put("train", examples.path("train").asLong() - rowsBefore + rowsAfter);
        Files.writeString(copy.resolve("manifest.json"), json.toPrettyString());
        CommandLineRun r = CommandLineRun.of("verify", "--data", copy.toString());
        assertEquals(1, r.status(), r.err());
        assertEquals(1, r.errorLines().size(), r.err());
        return r;
    }
}
