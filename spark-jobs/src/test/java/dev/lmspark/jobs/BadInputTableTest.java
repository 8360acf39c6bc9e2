package dev.lmspark.jobs;

import static dev.lmspark.jobs.PrepareFixture.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.cli.Main;
import dev.lmspark.spark.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exit-code contract, command by command: each line of the table is a command given a bad value
 * — a missing path, a wrong type, an out-of-range number, a malformed JSON/YAML/tokenizer/manifest/
 * checkpoint file, a model that does not fit the data — and must exit 2 with exactly one line on
 * stderr that names the value (the {@code expected} text), print nothing on stdout, and leave no
 * output (nor a hidden staging folder) behind. Paths written {@code @name} are fixture files;
 * {@code OUT} is a fresh output path per case.
 */
@ExtendWith(SharedSpark.class)
class BadInputTableTest {
    @TempDir static Path dir;
    static PrepareFixture f;
    static Path data;
    static Path clmData;
    static Path run;

    @BeforeAll
    static void fixtures() throws IOException {
        f = PrepareFixture.shared();
        data = dir.resolve("data");
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
                "--validation-fraction",
                "0.1");
        clmData = dir.resolve("clm-data");
        ok(
                "prepare",
                "--input",
                f.code.toString(),
                "--tokenizer",
                f.bpe.toString(),
                "--output",
                clmData.toString(),
                "--objective",
                "clm",
                "--max-length",
                "32",
                "--validation-fraction",
                "0.1");
        ok(
                "prepare",
                "--input",
                f.prose.toString(),
                "--tokenizer",
                f.wordpiece.toString(),
                "--output",
                dir.resolve("no-validation").toString(),
                "--max-length",
                "32",
                "--validation-fraction",
                "0");
        run = dir.resolve("run");
        ok(
                "train",
                "--data",
                data.toString(),
                "--output",
                run.toString(),
                "--model",
                "bert-tiny",
                "--rounds",
                "1",
                "--local-steps",
                "1",
                "--batch-size",
                "2");
        Path checkpoint = run.resolve("checkpoints/round-000001");
        // Damaged copies: a manifest that is not JSON, a truncated model file, a tokenizer.json
        // that is not a tokenizer, a metrics file that is not JSON lines, config files that are not
        // objects, a model config with an unknown architecture.
        Path badManifest = copy(data, dir.resolve("bad-manifest"));
        Files.writeString(badManifest.resolve("manifest.json"), "{\"format_version\": 1, ");
        Path truncated = copy(checkpoint, dir.resolve("truncated-checkpoint"));
        Path model = truncated.resolve("model.safetensors");
        Files.write(model, java.util.Arrays.copyOf(Files.readAllBytes(model), 1000));
        Path tokenizer = Files.createDirectories(dir.resolve("bad-tokenizer"));
        Files.writeString(tokenizer.resolve("tokenizer.json"), "{\"model\": 42}");
        Path badRun = Files.createDirectories(dir.resolve("bad-run"));
        Files.writeString(badRun.resolve("metrics.jsonl"), "{\"round\": 1, \"loss\": \n");
        Files.createDirectories(dir.resolve("empty-dir"));
        Files.writeString(dir.resolve("list.yaml"), "- seed\n- 7\n");
        Files.writeString(dir.resolve("broken.json"), "{\"seed\": ");
        Files.writeString(dir.resolve("model.json"), "{\"architecture\": \"gpt-j\"}");
        Files.writeString(dir.resolve("not-a-model.json"), "[1, 2]");
        Files.writeString(dir.resolve("a.txt"), "a line of text\n");
        Files.writeString(
                dir.resolve("odd-model.json"),
                "{\"architecture\": \"bert\", \"vocab_size\": 1000, \"hidden_size\": 100,"
                        + " \"num_heads\": 3}");
        Path future = copy(data, dir.resolve("future-data"));
        Path manifest = future.resolve("manifest.json");
        Files.writeString(
                manifest,
                Files.readString(manifest)
                        .replaceFirst("\"format_version\"\\s*:\\s*\\d+", "\"format_version\": 99"));
    }

    private static Path copy(Path from, Path to) throws IOException {
        return PrepareFixture.copyTree(from, to);
    }

    /** {@code expected} text in the error line | the command line. */
    static Stream<String> cases() {
        return Stream.of(
                // sample-corpus
                "'poetry' | sample-corpus --output OUT --kind poetry",
                "--size-mb | sample-corpus --output OUT --size-mb lots",
                "--size-mb | sample-corpus --output OUT --size-mb -3",
                "--seed | sample-corpus --output OUT --seed 1.5",
                "--bogus | sample-corpus --output OUT --bogus",
                "--output | sample-corpus --output s3a://KEY:SECRET@bucket/x",
                // train-tokenizer
                "nowhere | train-tokenizer --input @nowhere.txt --output OUT",
                "--vocab-size | train-tokenizer --input @a.txt --output OUT --vocab-size 5",
                "sentencepiece | train-tokenizer --input @a.txt --output OUT --type sentencepiece",
                "--min-frequency | train-tokenizer --input @a.txt --output OUT --min-frequency -1",
                "xml | train-tokenizer --input @a.txt --output OUT --input-format xml",
                "--input | train-tokenizer --output OUT",
                "list.yaml | train-tokenizer --config @list.yaml --input @a.txt --output OUT",
                "broken.json | train-tokenizer --config @broken.json --input @a.txt --output OUT",
                "colour | train-tokenizer --config @colour.yaml --input @a.txt --output OUT",
                // prepare
                "nowhere | prepare --input @nowhere.txt --tokenizer @wordpiece --output OUT",
                "nowhere | prepare --input @a.txt --tokenizer @nowhere --output OUT",
                "bad-tokenizer | prepare --input @a.txt --tokenizer @bad-tokenizer --output OUT",
                "--max-length | prepare --input @a.txt --tokenizer @wordpiece --output OUT"
                        + " --max-length 2",
                "--max-length | prepare --input @a.txt --tokenizer @wordpiece --output OUT"
                        + " --max-length many",
                "--mlm-probability | prepare --input @a.txt --tokenizer @wordpiece --output OUT"
                        + " --mlm-probability 1.5",
                "--shards | prepare --input @a.txt --tokenizer @wordpiece --output OUT --shards 0",
                "--validation-fraction | prepare --input @a.txt --tokenizer @wordpiece"
                        + " --output OUT --validation-fraction 2",
                "'bert' | prepare --input @a.txt --tokenizer @wordpiece --output OUT --objective"
                        + " bert",
                "--fim-rate | prepare --input @a.txt --tokenizer @bpe --output OUT --objective clm"
                        + " --fim-rate 1.5",
                // inspect
                "nowhere | inspect --data @nowhere",
                "empty-dir | inspect --data @empty-dir",
                "bad-manifest | inspect --data @bad-manifest",
                "--rows | inspect --data @data --rows -1",
                "--rows | inspect --data @data --rows ten",
                "format_version | inspect --data @future-data",
                "--split nope | inspect --data @data --split nope",
                // verify
                "nowhere | verify --data @nowhere",
                "--data | verify",
                "bad-manifest | verify --data @bad-manifest",
                "nowhere | verify --checkpoint @nowhere",
                "empty-dir | verify --checkpoint @empty-dir",
                // train
                "nowhere | train --data @nowhere --output OUT --model bert-tiny",
                "bad-manifest | train --data @bad-manifest --output OUT --model bert-tiny",
                "--model bert-huge | train --data @data --output OUT --model bert-huge",
                "gpt-j | train --data @data --output OUT --model @model.json",
                "not-a-model.json | train --data @data --output OUT --model @not-a-model.json",
                "--workers | train --data @data --output OUT --model bert-tiny --workers 0",
                "--lr | train --data @data --output OUT --model bert-tiny --lr -1",
                "--lr | train --data @data --output OUT --model bert-tiny --lr fast",
                "--batch-size | train --data @data --output OUT --model bert-tiny --batch-size 0",
                "--rounds | train --data @data --output OUT --model bert-tiny --rounds -1",
                "fp64 | train --data @data --output OUT --model bert-tiny --precision fp64",
                "--outer-lr | train --data @data --output OUT --model bert-tiny"
                        + " --outer-optimizer nesterov --outer-lr 0",
                "--objective | train --data @data --output OUT --model bert-tiny --objective clm",
                "causal (llama) | train --data @data --output OUT --model llama-tiny",
                "CLM dataset | train --data @clm-data --output OUT --init-from @run",
                "nowhere | train --data @data --output OUT --init-from @nowhere",
                "--resume | train --data @data --output OUT --model bert-tiny --resume",
                "num_layers = 0 | train --data @data --output OUT --model @odd-model.json",
                "--warmup-steps | train --data @data --output OUT --model bert-tiny"
                        + " --warmup-steps -1",
                "--clip-norm | train --data @data --output OUT --model bert-tiny --clip-norm -1",
                "--weight-decay | train --data @data --output OUT --model bert-tiny"
                        + " --weight-decay -1",
                "'focal' | train --data @data --output OUT --model bert-tiny --loss focal",
                "'step' | train --data @data --output OUT --model bert-tiny --lr-schedule step",
                "--grad-accum | train --data @data --output OUT --model bert-tiny --grad-accum 0",
                "--max-tokens | train --data @data --output OUT --model bert-tiny"
                        + " --max-tokens -5",
                "--eval-every | train --data @data --output OUT --model bert-tiny --eval-every -1",
                "--outer-momentum | train --data @data --output OUT --model bert-tiny"
                        + " --outer-optimizer nesterov --outer-momentum 1.5",
                "--keep-checkpoints | train --data @data --output OUT --model bert-tiny"
                        + " --keep-checkpoints -1",
                "format_version | train --data @future-data --output OUT --model bert-tiny",
                "--workers | train --data @data --output OUT --model bert-tiny --workers 100000",
                "validation split | train --data @no-validation --output OUT --model bert-tiny"
                        + " --eval-every 1",
                "spark-submit | train --data @data --output OUT --model bert-tiny --master yarn",
                "truncated-checkpoint | train --data @data --output OUT"
                        + " --init-from @truncated-checkpoint",
                // evaluate
                "nowhere | evaluate --checkpoint @nowhere --data @data",
                "nowhere | evaluate --checkpoint @run --data @nowhere",
                "truncated-checkpoint | evaluate --checkpoint @truncated-checkpoint --data @data",
                "--split nope | evaluate --checkpoint @run --data @data --split nope",
                "clm dataset | evaluate --checkpoint @run --data @clm-data",
                "--batch-size | evaluate --checkpoint @run --data @data --batch-size 0",
                // generate
                "nowhere | generate --checkpoint @nowhere --prompt hi",
                "truncated-checkpoint | generate --checkpoint @truncated-checkpoint --prompt hi"
                        + " --max-new-tokens 4",
                "--top-p | generate --checkpoint @run --prompt hi --top-p 2",
                "--temperature | generate --checkpoint @run --prompt hi --temperature -1",
                "--max-new-tokens | generate --checkpoint @run --prompt hi --max-new-tokens -1",
                "--suffix | generate --checkpoint @run --prompt hi --suffix there",
                "--top-k | generate --checkpoint @run --prompt hi --top-k -1",
                "--steps | generate --checkpoint @run --prompt hi --max-new-tokens 4 --steps 0",
                "--num-samples | generate --checkpoint @run --num-samples 0",
                "sqrt2 | generate --checkpoint @run --prompt hi --noise-schedule sqrt2",
                "tpu | generate --checkpoint @run --prompt hi --device tpu",
                "mlm-seq2seq | generate --checkpoint @run --data @data",
                // export
                "nowhere | export --checkpoint @nowhere --output OUT",
                "onnx | export --checkpoint @run --output OUT --format onnx",
                "truncated-checkpoint | export --checkpoint @truncated-checkpoint --output OUT",
                // report
                "nowhere | report --run @nowhere --output OUT.png",
                "metrics.jsonl | report --run @empty-dir --output OUT.png",
                "bad-run | report --run @bad-run --output OUT.png",
                ".pdf | report --run @run --output OUT.pdf",
                // quickstart
                "seq2seq | quickstart --workdir OUT --objective seq2seq",
                "--rounds | quickstart --workdir OUT --rounds 0",
                "--size-mb | quickstart --workdir OUT --size-mb -1");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @Timeout(120) // a case that wrongly starts real work fails instead of running on
    void exitsTwoWithOneLineAndLeavesNothing(String line) throws IOException {
        String[] parts = line.split(" \\| ", 2);
        String expected = parts[0];
        Path out = dir.resolve("out-" + Integer.toHexString(line.hashCode()));
        Files.writeString(dir.resolve("colour.yaml"), "colour: blue\n");
        List<String> args = new ArrayList<>();
        for (String a : parts[1].split(" ")) {
            args.add(
                    a.startsWith("@") ? resolve(a.substring(1)) : a.replace("OUT", out.toString()));
        }
        CommandLineRun r = CommandLineRun.of(args.toArray(String[]::new));
        assertEquals(Main.USAGE, r.status(), line + " printed:\n" + r.err());
        assertEquals(1, r.errorLines().size(), line + " printed:\n" + r.err());
        String error = r.errorLines().get(0);
        assertTrue(error.contains(expected), "'" + expected + "' not in: " + error);
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(r.err().contains("SECRET"), r.err());
        assertEquals("", r.out(), line);
        try (Stream<Path> all = Files.list(dir)) {
            String name = out.getFileName().toString();
            List<String> left =
                    all.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith(name) || n.startsWith("." + name))
                            .toList();
            assertEquals(List.of(), left, line + " left output behind");
        }
    }

    @Test
    void aRefusedOverwriteLeavesTheEarlierRunAsItWas() throws IOException {
        Path earlier = copy(run, dir.resolve("earlier-run"));
        List<String> before;
        try (Stream<Path> files = Files.walk(earlier)) {
            before = files.map(p -> earlier.relativize(p).toString()).sorted().toList();
        }
        for (String[] bad :
                List.of(
                        new String[] {"--workers", "100000"},
                        new String[] {"--eval-every", "1", "--data", resolve("no-validation")},
                        new String[] {"--model", "llama-tiny"})) {
            List<String> args =
                    new ArrayList<>(
                            List.of(
                                    "train",
                                    "--data",
                                    data.toString(),
                                    "--output",
                                    earlier.toString(),
                                    "--model",
                                    "bert-tiny",
                                    "--overwrite"));
            args.addAll(List.of(bad));
            CommandLineRun r = CommandLineRun.of(args.toArray(String[]::new));
            assertEquals(Main.USAGE, r.status(), r.err());
            try (Stream<Path> files = Files.walk(earlier)) {
                assertEquals(
                        before,
                        files.map(p -> earlier.relativize(p).toString()).sorted().toList(),
                        String.join(" ", bad));
            }
        }
    }

    private static String resolve(String name) {
        return switch (name) {
            case "wordpiece" -> f.wordpiece.toString();
            case "bpe" -> f.bpe.toString();
            case "data" -> data.toString();
            case "clm-data" -> clmData.toString();
            case "run" -> run.toString();
            default -> dir.resolve(name).toString();
        };
    }
}
