package dev.lmspark.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.config.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No 2 GiB walls: a Llama of 313M parameters (vocabulary 300,000, hidden 512, 2 layers, untied
 * head; its AdamW state 2.5 GB, past 2 GiB) trains for 2 rounds on CLM rows of 32 in local mode
 * with an 8 GB driver heap, resumes exactly and verifies. Slow (minutes, ~12 GB of memory).
 */
@Tag("slow")
class LargeModelIT {
    @TempDir Path dir;

    @Test
    void aModelWithAnOptimizerStatePast2GiBTrainsResumesExactlyAndVerifies() throws Exception {
        Map<String, String> env = Map.of("LMSPARK_DRIVER_MEMORY", "8g");
        Path code = dir.resolve("code");
        ok(
                env,
                "sample-corpus",
                "--output",
                code.toString(),
                "--kind",
                "code",
                "--size-mb",
                "0.05");
        ok(
                env,
                "train-tokenizer",
                "--input",
                code.toString(),
                "--output",
                dir.resolve("bpe").toString(),
                "--type",
                "bpe",
                "--vocab-size",
                "400");
        Path data = dir.resolve("clm");
        ok(
                env,
                "prepare",
                "--input",
                code.toString(),
                "--tokenizer",
                dir.resolve("bpe").toString(),
                "--output",
                data.toString(),
                "--objective",
                "clm",
                "--pack",
                "--max-length",
                "32");
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(ModelConfig.preset("llama-tiny").toJson());
        config.put("vocab_size", 300_000);
        config.put("hidden_size", 512);
        config.put("num_heads", 8);
        config.put("intermediate_size", 1376);
        config.put("max_positions", 32);
        Path model = dir.resolve("llama-313m.json");
        Files.writeString(model, config.toString());

        long t = System.nanoTime();
        Path whole = dir.resolve("whole");
        LauncherIT.Result r = ok(env, train(data, model, whole, "2").toArray(String[]::new));
        double seconds = (System.nanoTime() - t) / 1e9;
        assertTrue(r.err().contains("313,"), "the parameter count: " + r.err());
        Path split = dir.resolve("split");
        ok(env, train(data, model, split, "1").toArray(String[]::new));
        ok(
                env,
                "train",
                "--data",
                data.toString(),
                "--output",
                split.toString(),
                "--resume",
                "--rounds",
                "2");
        Path last = whole.resolve("checkpoints/round-000002");
        assertTrue(
                Files.size(last.resolve("workers/worker-00000.safetensors")) > (1L << 31),
                "the AdamW state is past 2 GiB");
        for (String file : List.of("model.safetensors", "workers/worker-00000.safetensors")) {
            // Streamed: the worker file is past what one Java array holds.
            assertEquals(
                    sha256(last.resolve(file)),
                    sha256(split.resolve("checkpoints/round-000002").resolve(file)),
                    "resumed exactly: " + file);
        }
        ok(env, "verify", "--checkpoint", whole.toString());
        List<JsonNode> metrics = new ArrayList<>();
        for (String line : Files.readAllLines(whole.resolve("metrics.jsonl"))) {
            metrics.add(json.readTree(line));
        }
        double rss =
                metrics.stream()
                        .mapToDouble(m -> m.path("worker_rss_mb").get(0).asDouble())
                        .max()
                        .orElse(0);
        System.out.printf(
                "LargeModelIT: 313M parameters, 2 rounds in %.1f s, peak RSS %.0f MiB, driver"
                        + " old-generation heap %.0f MiB%n",
                seconds, rss, metrics.get(metrics.size() - 1).path("driver_heap_mb").asDouble());
    }

    static String sha256(Path file) throws Exception {
        java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                d.update(buffer, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(d.digest());
    }

    static List<String> train(Path data, Path model, Path out, String rounds) {
        return new ArrayList<>(
                Arrays.asList(
                        "train",
                        "--master",
                        "local[2]",
                        "--data",
                        data.toString(),
                        "--output",
                        out.toString(),
                        "--model",
                        model.toString(),
                        "--workers",
                        "1",
                        "--rounds",
                        rounds,
                        "--local-steps",
                        "1",
                        "--batch-size",
                        "2",
                        "--lr-schedule",
                        "constant",
                        "--checkpoint-every",
                        "1"));
    }

    static LauncherIT.Result ok(Map<String, String> env, String... args) throws Exception {
        LauncherIT.Result r = LauncherIT.launch(env, args);
        assertEquals(0, r.status(), String.join(" ", args) + ": " + r.err());
        return r;
    }
}
