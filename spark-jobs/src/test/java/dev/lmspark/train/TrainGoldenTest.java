package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lmspark.cli.CommandLineRun;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The golden run: a fixed {@code train} on the committed fixture dataset {@code
 * fixtures/golden-mlm} (made once by {@code src/test/scripts/make-golden-dataset.sh}; no test
 * regenerates it) must end with the bytes recorded here. They were recorded on the trainer that
 * combined the workers' updates on the driver, before the combine was sharded across executors:
 * whatever moves where, a run's bits stay what they were. Exactness is a CPU promise (the same
 * hardware and thread count: this suite's {@code local[2,2]}, two threads per worker).
 */
class TrainGoldenTest {
    /** SHA-256 of the golden run's files in {@code checkpoints/round-000004}. */
    static final Map<String, String> GOLDEN =
            Map.of(
                    "model.safetensors",
                    "1f218bada0d3dcfd9faddf5e4a988fc97ba752d1ae673f5b085cd9d7c253d5b2",
                    "optimizer.safetensors",
                    "3fc3891eb64d95c2944a34ebab7c20e281c3fa6f9bdf520728f35c306826bdb1",
                    "workers/worker-00000.safetensors",
                    "9f6013668be07bb783eb73c816df5f37ed295d7ef35a488c1c3a52d0d058ead3",
                    "workers/worker-00001.safetensors",
                    "0e4cccb84f221303858ed3b61795a5635737e583648629e5cd67c8d11d61e207");

    @TempDir Path dir;

    /** The golden run's flags: 2 workers, nesterov, fp32, constant rate, 4 rounds in epoch 0. */
    static String[] goldenRun(Path data, Path output, String... extra) {
        String[] base = {
            "train",
            "--data",
            data.toString(),
            "--output",
            output.toString(),
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
            "--precision",
            "fp32",
            "--seed",
            "42",
            "--checkpoint-every",
            "2"
        };
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return args;
    }

    /** The committed fixture dataset, copied out of the test resources. */
    static Path goldenData(Path dir) throws IOException {
        Path data = dir.resolve("golden-mlm");
        Path source = Path.of("src/test/resources/fixtures/golden-mlm");
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
        return data;
    }

    @Test
    void theGoldenRunEndsWithTheRecordedBytes() throws IOException {
        Path out = dir.resolve("run");
        CommandLineRun r = CommandLineRun.of(goldenRun(goldenData(dir), out));
        assertEquals(0, r.status(), r.err());
        assertEquals(GOLDEN, hashes(out.resolve("checkpoints/round-000004")), r.err());
    }

    /** SHA-256 of each golden file of {@code checkpoint}. */
    static Map<String, String> hashes(Path checkpoint) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String name : GOLDEN.keySet()) {
            out.put(name, sha256(checkpoint.resolve(name)));
        }
        return out;
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(in.readAllBytes());
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
