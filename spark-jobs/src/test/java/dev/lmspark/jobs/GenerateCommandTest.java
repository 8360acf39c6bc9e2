package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.cli.Main;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.generate.GenerateJob;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OutputFolder;
import dev.lmspark.model.task.BertForPretraining;
import dev.lmspark.model.task.CausalLm;
import dev.lmspark.spark.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate} through the command line, on checkpoints of small freshly initialised models
 * with tokenizers trained by {@code train-tokenizer}: bert-tiny (masked, WordPiece), llama-tiny
 * (causal, byte-level BPE with the FIM sentinels, and WordPiece without them), and a causal
 * BERT-architecture model (BPE). Random weights make varied text, so sampling, seeds and greedy
 * decoding can be told apart; the exact-match score is checked on a model made to put {@code [SEP]}
 * everywhere, which matches exactly the rows whose target is empty.
 */
@ExtendWith(SharedSpark.class)
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern EXACT =
            Pattern.compile("generate: exact match (\\d+)/(\\d+) \\((\\d+\\.\\d)%\\)");

    @TempDir static Path dir;
    static Path wordpiece;
    static Path bpe;
    static LmTokenizer wordpieceTok;
    static LmTokenizer bpeTok;
    static Path bertRun;
    static Path llama;
    static Path bertCausal;
    static Path llamaWordpiece;
    static Path bertNoTokenizer;
    static Path bertWrongVocab;
    static Path bertSep;
    static Path seq2seq;
    static Path emptyTargets;
    static Path mlmData;

    @BeforeAll
    static void fixture() throws IOException {
        Path prose = dir.resolve("prose");
        Path code = dir.resolve("code");
        Path pairs = dir.resolve("pairs");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "0.2", "--seed", "3");
        ok(
                "sample-corpus",
                "--output",
                code.toString(),
                "--kind",
                "code",
                "--size-mb",
                "0.2",
                "--seed",
                "3");
        ok(
                "sample-corpus",
                "--output",
                pairs.toString(),
                "--kind",
                "seq2seq",
                "--size-mb",
                "0.05",
                "--seed",
                "3");
        wordpiece = dir.resolve("wordpiece");
        bpe = dir.resolve("bpe");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                wordpiece.toString(),
                "--lowercase",
                "--vocab-size",
                "1000");
        ok(
                "train-tokenizer",
                "--input",
                code.toString(),
                "--output",
                bpe.toString(),
                "--type",
                "bpe",
                "--vocab-size",
                "600");
        wordpieceTok =
                LmTokenizer.fromJson(Files.readAllBytes(wordpiece.resolve("tokenizer.json")));
        bpeTok = LmTokenizer.fromJson(Files.readAllBytes(bpe.resolve("tokenizer.json")));
        int wv = wordpieceTok.vocabSize();
        int bv = bpeTok.vocabSize();

        try (NDManager m = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
            ModelConfig bertTiny = ModelConfig.preset("bert-tiny");
            bertRun = dir.resolve("bert-run");
            Path round = bertRun.resolve("checkpoints/round-000003");
            write(BertForPretraining.initialize(bertTiny.withVocabSize(wv), m, 1), round);
            copyTokenizer(wordpiece, round);
            Files.writeString(bertRun.resolve("checkpoints/latest"), "round-000003\n");

            llama = dir.resolve("llama/checkpoints/round-000001");
            write(
                    CausalLm.initialize(ModelConfig.preset("llama-tiny").withVocabSize(bv), m, 2),
                    llama);
            copyTokenizer(bpe, llama);

            bertCausal = dir.resolve("bert-causal/checkpoints/round-000001");
            write(
                    CausalLm.initialize(bertTiny.withVocabSize(bv).withCausal(true), m, 3),
                    bertCausal);
            copyTokenizer(bpe, bertCausal);

            llamaWordpiece = dir.resolve("llama-wordpiece/checkpoints/round-000001");
            write(
                    CausalLm.initialize(ModelConfig.preset("llama-tiny").withVocabSize(wv), m, 4),
                    llamaWordpiece);
            copyTokenizer(wordpiece, llamaWordpiece);

            bertNoTokenizer = dir.resolve("bert-bare/checkpoints/round-000001");
            write(BertForPretraining.initialize(bertTiny.withVocabSize(wv), m, 1), bertNoTokenizer);

            bertWrongVocab = dir.resolve("bert-wrong/checkpoints/round-000001");
            write(
                    BertForPretraining.initialize(bertTiny.withVocabSize(wv + 8), m, 1),
                    bertWrongVocab);
            copyTokenizer(wordpiece, bertWrongVocab);

            // A masked LM whose output bias makes [SEP] the most likely token everywhere: its
            // prediction for every row is empty, so exactly the empty targets match.
            BertForPretraining sep =
                    BertForPretraining.initialize(bertTiny.withVocabSize(wv), m, 5);
            sep.parameters()
                    .get("mlm_head.decoder.bias")
                    .set(new NDIndex(wordpieceTok.specials().sep()), 100f);
            bertSep = dir.resolve("bert-sep/checkpoints/round-000001");
            write(sep, bertSep);
            copyTokenizer(wordpiece, bertSep);
        }

        seq2seq = dir.resolve("seq2seq");
        ok(
                "prepare",
                "--input",
                pairs.toString(),
                "--tokenizer",
                wordpiece.toString(),
                "--output",
                seq2seq.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "32",
                "--validation-fraction",
                "0.2");

        // Prefix/target pairs, every other one with an empty target.
        List<String> docs = PrepareFixture.documents(pairs, "prefix");
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            var doc = JSON.createObjectNode();
            doc.put("prefix", docs.get(i));
            doc.put("target", i % 2 == 0 ? "" : "the river runs through the town.");
            jsonl.append(doc).append('\n');
        }
        Path mixed = dir.resolve("mixed.jsonl");
        Files.writeString(mixed, jsonl);
        emptyTargets = dir.resolve("empty-targets");
        ok(
                "prepare",
                "--input",
                mixed.toString(),
                "--tokenizer",
                wordpiece.toString(),
                "--output",
                emptyTargets.toString(),
                "--objective",
                "mlm-seq2seq",
                "--max-length",
                "32",
                "--validation-fraction",
                "0.5");

        mlmData = dir.resolve("mlm-data");
        ok(
                "prepare",
                "--input",
                pairs.toString(),
                "--text-field",
                "prefix",
                "--tokenizer",
                wordpiece.toString(),
                "--output",
                mlmData.toString(),
                "--max-length",
                "32");
    }

    @AfterAll
    static void close() {
        wordpieceTok.close();
        bpeTok.close();
    }

    private static void write(BertForPretraining model, Path to) throws IOException {
        ModelCheckpoint.write(ModelWeights.of(model), OutputFolder.of(to));
    }

    private static void write(CausalLm model, Path to) throws IOException {
        ModelCheckpoint.write(ModelWeights.of(model), OutputFolder.of(to));
    }

    private static void copyTokenizer(Path tokenizer, Path checkpoint) throws IOException {
        Path to = checkpoint.resolve("tokenizer");
        Files.createDirectories(to);
        for (String f : HuggingFaceFolder.TOKENIZER_FILES) {
            Files.copy(tokenizer.resolve(f), to.resolve(f));
        }
    }

    static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    private static CommandLineRun generate(Path checkpoint, String... args) {
        List<String> all =
                new ArrayList<>(List.of("generate", "--checkpoint", checkpoint.toString()));
        all.addAll(List.of(args));
        return ok(all.toArray(String[]::new));
    }

    private static List<String> lines(CommandLineRun r) {
        return r.out().lines().toList();
    }

    /** The one line a run printed, spaces kept. */
    private static String single(CommandLineRun r) {
        assertEquals(1, lines(r).size(), r.out());
        return lines(r).get(0);
    }

    /** A failed run: non-zero status and one line on standard error, naming {@code what}. */
    private static void fails(int status, String what, String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(status, r.status(), String.join(" ", args) + ": " + r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("lmspark generate: "), r.err());
        assertTrue(r.err().contains(what), "expected '" + what + "' in: " + r.err());
        assertEquals("", r.out());
    }

    private static String[] flags(Path checkpoint, String... args) {
        List<String> all =
                new ArrayList<>(List.of("generate", "--checkpoint", checkpoint.toString()));
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }

    // --- masked LM ---------------------------------------------------------------------------

    @Test
    void maskedPromptsAreReproducibleBySeedAndStartWithThePrompt() {
        String[] prompts = {"the old river runs through the town", "a merchant", ""};
        List<String> args = new ArrayList<>();
        for (String p : prompts) {
            args.add("--prompt");
            args.add(p);
        }
        args.addAll(List.of("--max-new-tokens", "8", "--seed", "1"));
        CommandLineRun first = generate(bertRun, args.toArray(String[]::new));
        CommandLineRun again = generate(bertRun, args.toArray(String[]::new));
        assertEquals(first.out(), again.out(), "same flags and seed, same lines");
        assertEquals(prompts.length, lines(first).size(), first.out());
        for (int i = 0; i < prompts.length; i++) {
            String decoded = wordpieceTok.decode(wordpieceTok.encode(prompts[i]).ids(), true);
            assertTrue(lines(first).get(i).startsWith(decoded), lines(first).get(i));
        }
        assertTrue(first.err().contains("bert masked model"), first.err());

        args.set(args.indexOf("--seed") + 1, "2");
        CommandLineRun other = generate(bertRun, args.toArray(String[]::new));
        assertNotEquals(first.out(), other.out(), "another seed samples other tokens");

        // Each prompt is generated on its own: alone, it gives the same line.
        CommandLineRun alone =
                generate(bertRun, "--prompt", prompts[1], "--max-new-tokens", "8", "--seed", "1");
        assertEquals(lines(first).get(1), single(alone));
    }

    @Test
    void maskedPromptRowsAreClsPromptSepThenTheNewPositionsCutAtSep() throws IOException {
        String prompt = "the merchant sold bread";
        Path history = dir.resolve("contract-history");
        String[] args = {"--prompt", prompt, "--max-new-tokens", "6", "--seed", "5"};
        List<String> withHistory = new ArrayList<>(List.of(args));
        withHistory.addAll(List.of("--history", history.toString()));
        String full = single(generate(bertRun, withHistory.toArray(String[]::new)));
        // The last step's history holds the 6 tokens generated after [CLS] prompt [SEP].
        List<String> last = Files.readAllLines(history.resolve("prompt-0/row-0/step-6.jsonl"));
        assertEquals(6, last.size());
        int[] generated = new int[6];
        for (int i = 0; i < 6; i++) {
            generated[i] = JSON.readTree(last.get(i)).path("token").asInt();
        }
        var s = wordpieceTok.specials();
        int[] promptIds = wordpieceTok.encode(prompt).ids();
        int[] row = new int[promptIds.length + 2];
        row[0] = s.cls();
        System.arraycopy(promptIds, 0, row, 1, promptIds.length);
        row[row.length - 1] = s.sep();
        int[] cut = GenerateJob.untilSep(wordpieceTok, generated);
        assertEquals(wordpieceTok.decode(concat(row, cut), true), full);
        assertTrue(full.startsWith(wordpieceTok.decode(promptIds, true)), full);

        List<String> fresh = new ArrayList<>(List.of(args));
        fresh.add("--new-text-only");
        assertEquals(
                wordpieceTok.decode(cut, true),
                single(generate(bertRun, fresh.toArray(String[]::new))));
        List<String> raw = new ArrayList<>(List.of(args));
        raw.add("--keep-special-tokens");
        assertEquals(
                wordpieceTok.decode(concat(row, generated), false),
                single(generate(bertRun, raw.toArray(String[]::new))));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void greedyWithConfidenceOrderDoesNotDependOnTheSeed() {
        String[] a = {
            "--prompt",
            "a tall tree",
            "--max-new-tokens",
            "6",
            "--temperature",
            "0",
            "--unmask-order",
            "confidence",
            "--seed",
            "1"
        };
        String[] b = a.clone();
        b[b.length - 1] = "99";
        assertEquals(generate(bertRun, a).out(), generate(bertRun, b).out());
    }

    @Test
    void unconditionalMaskedSamplesAreOneLineEach() {
        CommandLineRun r = generate(bertRun, "--num-samples", "3", "--max-new-tokens", "5");
        assertEquals(3, lines(r).size(), r.out());
        assertEquals(3, lines(r).stream().distinct().count(), "rows 0, 1, 2 draw differently");
        // Rows do not depend on their batch.
        CommandLineRun batched =
                generate(
                        bertRun,
                        "--num-samples",
                        "3",
                        "--max-new-tokens",
                        "5",
                        "--batch-size",
                        "2");
        assertEquals(r.out(), batched.out());
    }

    @Test
    void historyWritesEveryStepOfEveryPrompt() throws IOException {
        Path history = dir.resolve("history");
        generate(
                bertRun,
                "--prompt",
                "a tall tree",
                "--prompt",
                "rain",
                "--max-new-tokens",
                "4",
                "--steps",
                "2",
                "--history",
                history.toString(),
                "--history-top-k",
                "3");
        List<String> files;
        try (Stream<Path> s = Files.walk(history)) {
            files =
                    s.filter(Files::isRegularFile)
                            .map(p -> history.relativize(p).toString())
                            .sorted()
                            .toList();
        }
        assertEquals(
                List.of(
                        "prompt-0/row-0/step-1.jsonl",
                        "prompt-0/row-0/step-2.jsonl",
                        "prompt-1/row-0/step-1.jsonl",
                        "prompt-1/row-0/step-2.jsonl"),
                files);
        List<String> step = Files.readAllLines(history.resolve("prompt-1/row-0/step-2.jsonl"));
        assertEquals(4, step.size(), "one line per new position");
        JsonNode line = JSON.readTree(step.get(0));
        assertEquals(1, line.path("format_version").asInt());
        assertEquals(2, line.path("step").asInt());
        assertEquals(3, line.path("top_ids").size());
        assertEquals(3, line.path("top_probs").size());

        // An existing history is kept unless --overwrite.
        fails(
                Main.USAGE,
                "already exists",
                flags(bertRun, "--prompt", "rain", "--history", history.toString()));
        generate(
                bertRun,
                "--prompt",
                "rain",
                "--max-new-tokens",
                "2",
                "--history",
                history.toString(),
                "--overwrite");
        assertFalse(Files.exists(history.resolve("prompt-1")));
        assertTrue(Files.exists(history.resolve("prompt-0/row-0/step-2.jsonl")));
    }

    // --- mlm-seq2seq batch prediction --------------------------------------------------------

    @Test
    void dataRowsArePredictedOneLineEachWithTheScoreOnStandardError() throws IOException {
        CommandLineRun r =
                generate(bertRun, "--data", seq2seq.toString(), "--limit", "6", "--steps", "4");
        assertEquals(6, lines(r).size(), r.out());
        Matcher m = EXACT.matcher(r.err());
        assertTrue(m.find(), r.err());
        assertEquals("6", m.group(2));
        assertFalse(r.out().contains("exact match"));
        CommandLineRun batched =
                generate(
                        bertRun,
                        "--data",
                        seq2seq.toString(),
                        "--limit",
                        "6",
                        "--steps",
                        "4",
                        "--batch-size",
                        "4");
        assertEquals(r.out(), batched.out(), "rows do not depend on their batch");

        Path history = dir.resolve("data-history");
        generate(
                bertRun,
                "--data",
                seq2seq.toString(),
                "--limit",
                "2",
                "--max-new-tokens",
                "3",
                "--steps",
                "1",
                "--history",
                history.toString());
        List<Row> rows = PrepareFixture.rows(seq2seq, "predict");
        for (Row row : rows.subList(0, 2)) {
            long id = row.getLong(row.fieldIndex("example_id"));
            Path file = history.resolve("row-" + id + "/step-1.jsonl");
            assertEquals(3, Files.readAllLines(file).size(), file.toString());
        }
    }

    @Test
    void exactMatchCountsTheRowsWhosePredictionIsTheReference() throws IOException {
        List<Row> rows = PrepareFixture.rows(emptyTargets, "predict");
        int sep = wordpieceTok.specials().sep();
        long empty =
                rows.stream()
                        .filter(row -> PrepareFixture.ints(row, "target_ids")[0] == sep)
                        .count();
        assertTrue(empty > 0 && empty < rows.size(), empty + " of " + rows.size());
        CommandLineRun r =
                generate(
                        bertSep,
                        "--data",
                        emptyTargets.toString(),
                        "--max-new-tokens",
                        "4",
                        "--temperature",
                        "0");
        assertEquals(rows.size(), lines(r).size());
        Matcher m = EXACT.matcher(r.err());
        assertTrue(m.find(), r.err());
        assertEquals(empty, Long.parseLong(m.group(1)), r.err());
        assertEquals(rows.size(), Integer.parseInt(m.group(2)));
        assertEquals(String.format("%.1f", 100.0 * empty / rows.size()), m.group(3));
        // The prediction is empty (it ends at the first [SEP]) on every row.
        assertTrue(lines(r).stream().allMatch(String::isEmpty), r.out());
    }

    // --- causal LM ---------------------------------------------------------------------------

    @Test
    void causalPromptsAreOneEscapedLineEachAndReproducibleBySeed() {
        String[] prompts = {"def main(x):\n    ", "import os\n", ""};
        for (Path checkpoint : List.of(llama, bertCausal)) {
            List<String> args = new ArrayList<>();
            for (String p : prompts) {
                args.add("--prompt");
                args.add(p);
            }
            args.addAll(List.of("--max-new-tokens", "12", "--ignore-eos"));
            CommandLineRun first = generate(checkpoint, args.toArray(String[]::new));
            assertEquals(first.out(), generate(checkpoint, args.toArray(String[]::new)).out());
            assertEquals(prompts.length, lines(first).size(), first.out());
            for (int i = 0; i < prompts.length; i++) {
                assertTrue(
                        lines(first).get(i).startsWith(GenerateJob.oneLine(prompts[i])),
                        lines(first).get(i));
                assertTrue(lines(first).get(i).length() > GenerateJob.oneLine(prompts[i]).length());
            }
            args.addAll(List.of("--seed", "7"));
            assertNotEquals(first.out(), generate(checkpoint, args.toArray(String[]::new)).out());
        }
    }

    @Test
    void greedyCausalGenerationDoesNotDependOnTheSeedNorOnTheCache() {
        String[] a = {
            "--prompt", "class A:\n", "--max-new-tokens", "12", "--temperature", "0", "--seed", "1"
        };
        String out = generate(llama, a).out();
        String[] b = a.clone();
        b[b.length - 1] = "2";
        assertEquals(out, generate(llama, b).out());
        List<String> noCache = new ArrayList<>(List.of(a));
        noCache.add("--no-kv-cache");
        assertEquals(out, generate(llama, noCache.toArray(String[]::new)).out());
    }

    @Test
    void infillingPrintsPrefixMiddleSuffixOnOneLine() {
        String prefix = "def add(a, b):\n    ";
        String suffix = "\n    return c\n";
        for (Path checkpoint : List.of(llama, bertCausal)) {
            String[] args = {
                "--prompt", prefix, "--suffix", suffix, "--max-new-tokens", "12", "--seed", "3"
            };
            CommandLineRun r = generate(checkpoint, args);
            assertEquals(1, lines(r).size(), r.out());
            List<String> middleArgs = new ArrayList<>(List.of(args));
            middleArgs.add("--new-text-only");
            String middle = single(generate(checkpoint, middleArgs.toArray(String[]::new)));
            assertEquals(
                    GenerateJob.oneLine(prefix) + middle + GenerateJob.oneLine(suffix),
                    lines(r).get(0));
        }
        // One --suffix serves every prompt.
        CommandLineRun two =
                generate(llama, "--prompt", "x = ", "--prompt", "y = ", "--suffix", "\n");
        assertEquals(2, lines(two).size(), two.out());
    }

    @Test
    void unconditionalCausalSamples() {
        CommandLineRun r = generate(llama, "--num-samples", "2", "--max-new-tokens", "10");
        assertEquals(2, lines(r).size(), r.out());
        assertNotEquals(lines(r).get(0), lines(r).get(1));
    }

    @Test
    void aCheckpointWithoutTokenizerTakesTokenizer() {
        fails(Main.USAGE, "--tokenizer", flags(bertNoTokenizer, "--prompt", "rain"));
        CommandLineRun r =
                generate(
                        bertNoTokenizer,
                        "--tokenizer",
                        wordpiece.toString(),
                        "--prompt",
                        "rain",
                        "--max-new-tokens",
                        "8",
                        "--seed",
                        "1");
        // The same weights and tokenizer as the bert run: the same line.
        assertEquals(
                generate(bertRun, "--prompt", "rain", "--max-new-tokens", "8", "--seed", "1").out(),
                r.out());
    }

    // --- bad input ---------------------------------------------------------------------------

    @Test
    void badInputIsOneLine() {
        fails(
                Main.USAGE,
                "does not exist",
                "generate",
                "--checkpoint",
                dir.resolve("nope").toString(),
                "--prompt",
                "x");
        fails(Main.USAGE, "--suffix", flags(bertRun, "--prompt", "a", "--suffix", "b"));
        fails(Main.USAGE, "FIM", flags(llamaWordpiece, "--prompt", "a", "--suffix", "b"));
        fails(Main.USAGE, "vocabulary", flags(bertWrongVocab, "--prompt", "a"));
        fails(
                Main.USAGE,
                "--max-new-tokens 0",
                flags(bertRun, "--prompt", "a", "--max-new-tokens", "0"));
        fails(Main.USAGE, "--steps 0", flags(bertRun, "--prompt", "a", "--steps", "0"));
        fails(Main.USAGE, "nothing to generate", flags(bertRun));
        fails(
                Main.USAGE,
                "alternatives",
                flags(bertRun, "--prompt", "a", "--data", seq2seq.toString()));
        fails(
                Main.USAGE,
                "--temperature -1",
                flags(bertRun, "--prompt", "a", "--temperature", "-1"));
        fails(Main.USAGE, "--top-p 0", flags(bertRun, "--prompt", "a", "--top-p", "0"));
        fails(Main.USAGE, "--top-k -2", flags(bertRun, "--prompt", "a", "--top-k", "-2"));
        fails(
                Main.USAGE,
                "max_positions 512",
                flags(bertRun, "--prompt", "a", "--max-new-tokens", "600"));
        fails(Main.USAGE, "masked LM", flags(llama, "--data", seq2seq.toString()));
        fails(Main.USAGE, "--history", flags(llama, "--prompt", "a", "--history", "h"));
        fails(
                Main.USAGE,
                "2 --suffix values for 3 --prompt",
                flags(
                        llama,
                        "--prompt",
                        "a",
                        "--prompt",
                        "b",
                        "--prompt",
                        "c",
                        "--suffix",
                        "x",
                        "--suffix",
                        "y"));
        fails(Main.USAGE, "cosine", flags(bertRun, "--prompt", "a", "--noise-schedule", "fast"));
        fails(Main.USAGE, "confidence", flags(bertRun, "--prompt", "a", "--unmask-order", "best"));
        fails(Main.USAGE, "--checkpoint", "generate", "--prompt", "a");
    }

    @Test
    void dataThatCannotBePredictedIsOneLine() {
        fails(Main.USAGE, "mlm-seq2seq", flags(bertRun, "--data", mlmData.toString()));
        fails(
                Main.USAGE,
                "use --split predict",
                flags(bertRun, "--data", seq2seq.toString(), "--split", "train"));
        fails(
                Main.USAGE,
                "--split test is not in",
                flags(bertRun, "--data", seq2seq.toString(), "--split", "test"));
        fails(
                Main.USAGE,
                "no manifest.json",
                flags(bertRun, "--data", dir.resolve("prose").toString()));
        fails(
                Main.USAGE,
                "does not exist",
                flags(bertRun, "--data", dir.resolve("nowhere").toString()));
        fails(
                Main.USAGE,
                "--limit 0",
                flags(bertRun, "--data", seq2seq.toString(), "--limit", "0"));
    }

    @Test
    void helpNamesTheFlags() {
        CommandLineRun help = CommandLineRun.of("generate", "--help");
        assertEquals(0, help.status(), help.err());
        for (String flag :
                List.of(
                        "--checkpoint",
                        "--prompt",
                        "--suffix",
                        "--data",
                        "--split",
                        "--limit",
                        "--max-new-tokens",
                        "--steps",
                        "--top-k",
                        "--top-p",
                        "--temperature",
                        "--seed",
                        "--history",
                        "--num-samples")) {
            assertTrue(help.out().contains(flag), flag);
        }
        assertTrue(help.out().replaceAll("\\s+", " ").contains("0 is greedy"), help.out());
    }
}
