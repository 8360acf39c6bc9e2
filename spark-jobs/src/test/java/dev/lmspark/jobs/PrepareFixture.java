package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * Corpora, tokenizers and helpers shared by the prepare tests (and, being public, by tests of the
 * dataset readers in other packages).
 */
public final class PrepareFixture {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;

    /** A 0.5 MB prose sample corpus (JSONL). */
    public final Path prose;

    /** A 0.5 MB code sample corpus (JSONL). */
    public final Path code;

    /** A 0.2 MB prefix/target sample corpus (JSONL). */
    public final Path pairs;

    /** A lowercase WordPiece tokenizer of 3,000 ids trained on {@link #prose}. */
    public final Path wordpiece;

    /** A byte-level BPE tokenizer of 1,500 ids with the FIM sentinels, trained on {@link #code}. */
    public final Path bpe;

    private static PrepareFixture shared;

    /**
     * The fixture of this JVM, made on first use in a temporary folder deleted when the JVM exits:
     * the prepare and reader tests only read it (each writes under its own folder), so it is made
     * once, not once per test class.
     */
    public static synchronized PrepareFixture shared() {
        if (shared == null) {
            try {
                Path dir = Files.createTempDirectory("lmspark-prepare-fixture");
                Runtime.getRuntime()
                        .addShutdownHook(
                                new Thread(
                                        () -> {
                                            try (var files = Files.walk(dir)) {
                                                for (Path p :
                                                        files.sorted(
                                                                        java.util.Comparator
                                                                                .reverseOrder())
                                                                .toList()) {
                                                    Files.deleteIfExists(p);
                                                }
                                            } catch (IOException e) {
                                                // best effort: it is a temporary folder
                                            }
                                        }));
                shared = new PrepareFixture(dir);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return shared;
    }

    /** Writes the corpora and trains the tokenizers under {@code dir}. */
    public PrepareFixture(Path dir) {
        this.dir = dir;
        prose = dir.resolve("prose");
        code = dir.resolve("code");
        pairs = dir.resolve("pairs");
        wordpiece = dir.resolve("wordpiece");
        bpe = dir.resolve("bpe");
        ok("sample-corpus", "--output", prose.toString(), "--size-mb", "0.5", "--seed", "3");
        ok(
                "sample-corpus",
                "--output",
                code.toString(),
                "--kind",
                "code",
                "--size-mb",
                "0.5",
                "--seed",
                "3");
        ok(
                "sample-corpus",
                "--output",
                pairs.toString(),
                "--kind",
                "seq2seq",
                "--size-mb",
                "0.2",
                "--seed",
                "3");
        ok(
                "train-tokenizer",
                "--input",
                prose.toString(),
                "--output",
                wordpiece.toString(),
                "--lowercase",
                "--vocab-size",
                "3000");
        ok(
                "train-tokenizer",
                "--input",
                code.toString(),
                "--output",
                bpe.toString(),
                "--type",
                "bpe",
                "--vocab-size",
                "1500");
    }

    /** Runs a command in-process, asserting exit status 0. */
    public static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    /** A dataset's manifest.json. */
    public static JsonNode manifest(Path data) throws IOException {
        return JSON.readTree(data.resolve("manifest.json").toFile());
    }

    /** Copies folder {@code from} (a dataset, a checkpoint) to {@code to}; returns {@code to}. */
    public static Path copyTree(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }

    /** A split's rows as Spark reads them, in example_id order. */
    public static List<Row> rows(Path data, String split) {
        return SharedSpark.session()
                .read()
                .parquet(data.resolve(split).toString())
                .orderBy("example_id")
                .collectAsList();
    }

    /** An array&lt;int&gt; column of a row. */
    public static int[] ints(Row r, String column) {
        List<Integer> l = r.getList(r.fieldIndex(column));
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** An array&lt;byte&gt; column of a row. */
    public static byte[] bytes(Row r, String column) {
        List<Byte> l = r.getList(r.fieldIndex(column));
        byte[] out = new byte[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = l.get(i);
        }
        return out;
    }

    /** The documents of a one-file sample corpus, by index. */
    static List<String> documents(Path corpus, String field) throws IOException {
        List<String> docs = new ArrayList<>();
        for (String line : Files.readAllLines(corpus.resolve("part-00000.jsonl"))) {
            docs.add(JSON.readTree(line).get(field).asText());
        }
        return docs;
    }

    /** Every shard file of a dataset with its bytes, by relative path. */
    static java.util.Map<String, byte[]> shardBytes(Path data) throws IOException {
        java.util.Map<String, byte[]> out = new java.util.TreeMap<>();
        for (String split : List.of("train", "validation", "predict")) {
            Path d = data.resolve(split);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (var files = Files.list(d)) {
                for (Path f : files.sorted().toList()) {
                    out.put(split + "/" + f.getFileName(), Files.readAllBytes(f));
                }
            }
        }
        return out;
    }
}
