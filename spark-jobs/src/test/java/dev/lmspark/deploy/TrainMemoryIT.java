package dev.lmspark.deploy;

import static dev.lmspark.deploy.TrainClusterIT.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Native memory stays flat over a long run: one worker on one long-lived executor JVM ({@code
 * local-cluster[1,1,1024]}, heap fixed with -Xms = -Xmx so heap growth cannot hide or pose as a
 * leak, and pre-touched so it is resident from the start) trains bert-mini for 100 rounds with the
 * launcher's allocator settings; once glibc's heap has filled with the freed tensors it keeps for
 * reuse (it grows over the first ~50 rounds, then levels off), the executor's resident size ({@code
 * worker_rss_mb} in metrics.jsonl) grows less than 2% from round 50 to round 100 — a leak of a
 * megabyte a round would not. Slow suite ({@code mvn -Pslow verify}); the numbers of a run are in
 * the README's Memory section.
 */
@Tag("slow")
class TrainMemoryIT {
    @TempDir Path dir;

    @Test
    void anExecutorsResidentSizeGrowsUnderTwoPercentFromRoundFiftyToAHundred() throws Exception {
        Path prose = dir.resolve("prose");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "1");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                dir.resolve("wp").toString(),
                "--lowercase",
                "--vocab-size",
                "2000");
        Path data = dir.resolve("data");
        ok(
                "prepare",
                "--input",
                prose.toString(),
                "--tokenizer",
                dir.resolve("wp").toString(),
                "--output",
                data.toString(),
                "--max-length",
                "64",
                "--nsp");
        Path out = dir.resolve("run");
        ok(
                "train",
                "--master",
                "local-cluster[1,1,1024]",
                "--conf",
                "spark.executor.defaultJavaOptions=-Xms1024m -XX:+AlwaysPreTouch",
                "--data",
                data.toString(),
                "--output",
                out.toString(),
                "--model",
                "bert-mini",
                "--workers",
                "1",
                "--rounds",
                "100",
                "--local-steps",
                "5",
                "--batch-size",
                "16",
                "--lr",
                "5e-4",
                "--checkpoint-every",
                "10");
        ObjectMapper json = new ObjectMapper();
        List<Double> rss = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode r = json.readTree(line);
            if (r.path("round").asInt() >= 1) {
                rss.add(r.path("worker_rss_mb").get(0).asDouble());
            }
        }
        assertEquals(100, rss.size());
        double at50 = rss.get(49);
        double at100 = rss.get(99);
        double growth = (at100 - at50) / at50;
        System.out.printf(
                "train memory: executor RSS round 5 %.1f MiB, round 50 %.1f MiB, round 100 %.1f"
                        + " MiB, growth from 50 to 100 %.2f%%, per round %s%n",
                rss.get(4), at50, at100, 100 * growth, rss);
        assertTrue(at50 > 1024, "the fixed 1 GiB heap is resident: " + at50 + " MiB");
        assertTrue(growth < 0.02, "RSS grew " + 100 * growth + "% from round 50 to 100: " + rss);
    }
}
