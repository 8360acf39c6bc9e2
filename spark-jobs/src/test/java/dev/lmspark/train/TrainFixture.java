package dev.lmspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Small prepared datasets made by the real commands — an MLM+NSP one (WordPiece, rows of 64) and a
 * packed CLM+FIM one (byte-level BPE with the FIM sentinels, rows of 64) — and helpers to run
 * {@code train} on them with tiny models.
 */
final class TrainFixture {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    final Path mlm;
    final Path clm;
    final Path seq2seq;

    TrainFixture(Path dir) {
        this.dir = dir;
        Path prose = dir.resolve("prose");
        Path code = dir.resolve("code");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "0.3", "--seed", "5");
        ok("sample-corpus", "--output", code.toString(), "--kind", "code", "--size-mb", "0.3");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                dir.resolve("wordpiece").toString(),
                "--lowercase",
                "--vocab-size",
                "1000");
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
        mlm = dir.resolve("mlm-data");
        clm = dir.resolve("clm-data");
        seq2seq = dir.resolve("seq2seq-data");
        Path pairs = dir.resolve("pairs");
        ok("sample-corpus", "--output", pairs.toString(), "--kind", "seq2seq", "--size-mb", "0.1");
        ok(
                "prepare",
                "--input",
                pairs.toString(),
                "--tokenizer",
                dir.resolve("wordpiece").toString(),
                "--output",
                seq2seq.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "48",
                "--validation-fraction",
                "0.1");
        ok(
                "prepare",
                "--input",
                prose.toString(),
                "--tokenizer",
                dir.resolve("wordpiece").toString(),
                "--output",
                mlm.toString(),
                "--max-length",
                "64",
                "--nsp",
                "--shards",
                "3",
                "--validation-fraction",
                "0.05");
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
                "3",
                "--validation-fraction",
                "0.05");
    }

    /** Runs {@code args} and checks it succeeded. */
    static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    /**
     * {@code train} on {@code data} into {@code output}: tiny, fast settings, then {@code extra}.
     */
    static CommandLineRun train(Path data, Path output, String... extra) {
        List<String> args = new ArrayList<>();
        args.addAll(
                List.of(
                        "train",
                        "--data",
                        data.toString(),
                        "--output",
                        output.toString(),
                        "--rounds",
                        "3",
                        "--local-steps",
                        "2",
                        "--batch-size",
                        "4",
                        "--lr",
                        "2e-3",
                        "--warmup-steps",
                        "1"));
        args.addAll(Arrays.asList(extra));
        return CommandLineRun.of(args.toArray(String[]::new));
    }

    /** The bytes of the latest checkpoint's model.safetensors. */
    static byte[] model(Path output) throws IOException {
        return Files.readAllBytes(latest(output).resolve("model.safetensors"));
    }

    /** The latest checkpoint directory. */
    static Path latest(Path output) throws IOException {
        Path checkpoints = output.resolve("checkpoints");
        return checkpoints.resolve(Files.readString(checkpoints.resolve("latest")).strip());
    }

    /** The metrics records. */
    static List<JsonNode> metrics(Path output) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(output.resolve("metrics.jsonl"))) {
            out.add(JSON.readTree(line));
        }
        return out;
    }
}
