import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The raw-tokenizer peer of bench/prepare (README "Benchmarks"): HuggingFaceTokenizer.batchEncode
 * over batches of 1024 documents of the same JSONL corpus, in one JVM (RAYON_NUM_THREADS set by the
 * caller). No truncation and no padding, so every token of every document is produced and counted.
 *
 * <p>Usage: java TokenizerPeer CORPUS_DIR TOKENIZER_JSON → prints "tokens seconds".
 */
public final class TokenizerPeer {
    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of(args[0]))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
                try (BufferedReader in = Files.newBufferedReader(f)) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        docs.add(json.readTree(line).get("text").asText());
                    }
                }
            }
        }
        try (HuggingFaceTokenizer tok =
                HuggingFaceTokenizer.newInstance(
                        Path.of(args[1]), Map.of("truncation", "false", "padding", "false"))) {
            tok.batchEncode(docs.subList(0, Math.min(docs.size(), 1024)));
            long tokens = 0;
            long start = System.nanoTime();
            for (int i = 0; i < docs.size(); i += 1024) {
                for (Encoding e :
                        tok.batchEncode(docs.subList(i, Math.min(docs.size(), i + 1024)))) {
                    tokens += e.getIds().length;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.println(tokens + " " + seconds);
        }
    }
}
