package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.cli.CommandLineRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --delta-precision bf16|int8}: the encodings, their error feedback (nothing is lost, only
 * sent later), the bytes each round moves, and a compressed run that resumes exactly (the error
 * feedback is part of the checkpointed worker state).
 */
class CompressedDeltaTest {
    @TempDir Path dir;

    @Test
    void bf16RoundsToNearestEvenAndInt8ScalesEachBlockByItsLargestValue() {
        assertEquals((short) 0x3f80, DeltaCodec.toBf16(1f));
        // 1 + 2^-8 lies halfway between two bf16 values: ties to even (1.0).
        assertEquals((short) 0x3f80, DeltaCodec.toBf16(Float.intBitsToFloat(0x3f808000)));
        // … and 1 + 3·2^-8 to the upper (even) neighbour.
        assertEquals((short) 0x3f82, DeltaCodec.toBf16(Float.intBitsToFloat(0x3f818000)));
        assertEquals((short) 0x3f81, DeltaCodec.toBf16(Float.intBitsToFloat(0x3f808001)));
        float[] v = new float[300];
        v[3] = -2.54f;
        v[7] = 1f;
        v[299] = 0.5f;
        DeltaCodec.Encoded e = DeltaCodec.encode(DeltaCodec.Precision.INT8, v.clone(), null, 0);
        assertEquals(2, e.scales().length, "blocks of " + DeltaCodec.BLOCK);
        assertEquals(2.54f / 127f, e.scales()[0]);
        assertEquals(-127, e.int8()[3]);
        assertEquals(50, e.int8()[7]); // 1 / 0.02
        assertEquals(127, e.int8()[299]);
        assertEquals(300 + 8, e.bytes());
        assertEquals(300 + 8, DeltaCodec.Precision.INT8.bytes(300));
    }

    @Test
    void errorFeedbackSendsLaterWhatARoundDidNotSend() {
        SplittableRandom r = new SplittableRandom(3);
        for (DeltaCodec.Precision p :
                List.of(DeltaCodec.Precision.BF16, DeltaCodec.Precision.INT8)) {
            int n = 1000;
            float[] error = new float[n + 7];
            double[] truth = new double[n];
            double[] sent = new double[n];
            for (int round = 0; round < 20; round++) {
                float[] d = new float[n];
                for (int i = 0; i < n; i++) {
                    d[i] = (float) (r.nextGaussian() * 1e-3);
                    truth[i] += d[i];
                }
                float[] got = DeltaCodec.encode(p, d, error, 7).decode();
                for (int i = 0; i < n; i++) {
                    sent[i] += got[i];
                }
            }
            for (int i = 0; i < n; i++) {
                // What was sent plus what is still owed is what the rounds computed.
                assertEquals(truth[i], sent[i] + error[7 + i], 1e-8, p + " at " + i);
            }
        }
    }

    @Test
    void aCompressedRunMovesFewerBytesAndResumesExactly() throws Exception {
        Path data = TrainGoldenTest.goldenData(dir);
        Path whole = dir.resolve("int8-whole");
        ok(TrainGoldenTest.goldenRun(data, whole, "--delta-precision", "int8"));
        Path split = dir.resolve("int8-split");
        ok(TrainGoldenTest.goldenRun(data, split, "--delta-precision", "int8", "--rounds", "2"));
        assertTrue(
                Files.isRegularFile(
                        split.resolve(
                                "checkpoints/round-000002/workers/worker-00001.delta-error.safetensors")));
        CommandLineRun refused =
                CommandLineRun.of(
                        "train",
                        "--data",
                        data.toString(),
                        "--output",
                        split.toString(),
                        "--resume",
                        "--delta-precision",
                        "bf16");
        assertEquals(2, refused.status(), refused.err());
        assertTrue(refused.err().contains("--delta-precision bf16 differs from the recorded int8"));
        ok(
                "train",
                "--data",
                data.toString(),
                "--output",
                split.toString(),
                "--resume",
                "--rounds",
                "4");
        assertArrayEquals(TrainFixture.model(whole), TrainFixture.model(split));
        ok("verify", "--checkpoint", split.toString());

        Path bf16 = dir.resolve("bf16");
        ok(TrainGoldenTest.goldenRun(data, bf16, "--delta-precision", "bf16"));
        Path fp32 = dir.resolve("fp32");
        ok(TrainGoldenTest.goldenRun(data, fp32));
        long full = TrainFixture.metrics(fp32).get(0).path("delta_bytes").asLong();
        JsonNode half = TrainFixture.metrics(bf16).get(0);
        JsonNode quarter = TrainFixture.metrics(whole).get(0);
        assertEquals(full / 2, half.path("delta_bytes").asLong());
        long parameters = full / 8; // 2 workers × 4 bytes
        assertEquals(
                2 * DeltaCodec.Precision.INT8.bytes(parameters) / 1.0,
                quarter.path("delta_bytes").asLong(),
                2 * 4 * 64.0, // the per-shard rounding of the int8 blocks
                "int8: a byte per value plus a scale per block");
    }

    @Test
    void everyEncodingCrossesJavaSerializationBitForBit() throws Exception {
        // More than one 64 KiB chunk, and not a whole number of them; NaN and −0 kept as bits.
        float[] v = new float[70_001];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        v[5] = Float.NaN;
        v[6] = -0f;
        for (DeltaCodec.Precision p : DeltaCodec.Precision.values()) {
            DeltaCodec.Encoded sent = DeltaCodec.encode(p, v.clone(), null, 0);
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
                out.writeObject(new ShardPiece(1, 1, 0, null, sent));
            }
            ShardPiece got;
            try (java.io.ObjectInputStream in =
                    new java.io.ObjectInputStream(
                            new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
                got = (ShardPiece) in.readObject();
            }
            assertArrayEquals(sent.fp32(), got.delta().fp32(), p.name());
            assertArrayEquals(sent.bf16(), got.delta().bf16(), p.name());
            assertArrayEquals(sent.int8(), got.delta().int8(), p.name());
            assertArrayEquals(sent.scales(), got.delta().scales(), p.name());
            assertEquals(sent.bytes(), got.delta().bytes());
            float[] a = sent.decode();
            float[] b = got.delta().decode();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]));
            }
        }
    }

    private static void ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + ": " + r.err());
    }
}
