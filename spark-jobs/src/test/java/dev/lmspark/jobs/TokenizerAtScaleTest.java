package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.spark.SharedSpark;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Slow suite: full-size vocabularies on a 64 MiB corpus, every document round-tripped. */
@Tag("slow")
@ExtendWith(SharedSpark.class)
class TokenizerAtScaleTest {
    @TempDir Path dir;

    @Test
    void thirtyTwoThousandTokenBpeOnSixtyFourMegabytesOfProse() throws Exception {
        Path corpus = dir.resolve("corpus");
        Path tokenizer = dir.resolve("tokenizer");
        assertEquals(
                0,
                CommandLineRun.of("sample-corpus", "--output", corpus.toString(), "--size-mb", "64")
                        .status());
        CommandLineRun r =
                CommandLineRun.of(
                        "train-tokenizer",
                        "--input",
                        corpus.toString(),
                        "--output",
                        tokenizer.toString(),
                        "--type",
                        "bpe",
                        "--vocab-size",
                        "32000");
        assertEquals(0, r.status(), r.err());
        ObjectMapper json = new ObjectMapper();
        int vocab =
                json.readTree(tokenizer.resolve("tokenizer.json").toFile())
                        .get("model")
                        .get("vocab")
                        .size();
        assertTrue(vocab > 20000, "vocabulary: " + vocab);
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(tokenizer.resolve("tokenizer.json"), Map.of())) {
            List<Path> files;
            try (var list = Files.list(corpus)) {
                files = list.sorted().toList();
            }
            long docs = 0;
            for (Path file : files) {
                try (BufferedReader in = Files.newBufferedReader(file)) {
                    List<String> batch = new ArrayList<>();
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        batch.add(json.readTree(line).get("text").asText());
                        if (batch.size() == 1024) {
                            docs += roundTrip(tok, batch);
                        }
                    }
                    docs += roundTrip(tok, batch);
                }
            }
            assertTrue(docs > 50000, "documents: " + docs);
        }
    }

    private static int roundTrip(HuggingFaceTokenizer tok, List<String> batch) {
        var encodings = tok.batchEncode(batch);
        for (int i = 0; i < batch.size(); i++) {
            // batchEncode pads to the longest document of the batch: keep the real tokens.
            long[] ids = encodings[i].getIds();
            long[] mask = encodings[i].getAttentionMask();
            int real = 0;
            while (real < mask.length && mask[real] == 1) {
                real++;
            }
            assertEquals(batch.get(i), tok.decode(java.util.Arrays.copyOf(ids, real), false));
        }
        int n = batch.size();
        batch.clear();
        return n;
    }
}
