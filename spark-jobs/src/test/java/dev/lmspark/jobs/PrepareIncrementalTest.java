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
        f = new PrepareFixture(dir);
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
}
