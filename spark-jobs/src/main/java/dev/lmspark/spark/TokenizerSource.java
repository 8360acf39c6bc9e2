package dev.lmspark.spark;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A tokenizer as {@code --tokenizer} names it — a directory holding {@code tokenizer.json} (and
 * usually {@code tokenizer_config.json}, {@code special_tokens_map.json}), a {@code tokenizer.json}
 * file, or a BERT {@code vocab.txt} (made into the equivalent WordPiece {@code tokenizer.json}) —
 * held as bytes, so it can be copied into a dataset and shipped to executors, where {@link
 * #load(byte[])} keeps one loaded tokenizer per JVM.
 *
 * @param files the tokenizer directory's files by name; always has {@code tokenizer.json}
 */
public record TokenizerSource(Map<String, byte[]> files) {
    private static final Map<String, LmTokenizer> LOADED = new ConcurrentHashMap<>();
    private static final List<String> DIRECTORY_FILES =
            List.of(
                    TrainedTokenizer.TOKENIZER_JSON,
                    TrainedTokenizer.TOKENIZER_CONFIG_JSON,
                    TrainedTokenizer.SPECIAL_TOKENS_MAP_JSON);

    /**
     * Reads {@code --tokenizer}.
     *
     * @param lowercase for a {@code vocab.txt}: BERT uncased
     * @throws BadInputException when it is missing, unreadable or not a tokenizer
     */
    public static TokenizerSource read(String location, boolean lowercase, Configuration conf) {
        Path path = HadoopPaths.check("--tokenizer", location);
        FileSystem fs = HadoopPaths.fileSystem(path, conf);
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            if (!fs.exists(path)) {
                throw new BadInputException(
                        "--tokenizer "
                                + location
                                + " does not exist; give a train-tokenizer output"
                                + " directory, a tokenizer.json or a BERT vocab.txt");
            }
            if (fs.getFileStatus(path).isDirectory()) {
                for (String name : DIRECTORY_FILES) {
                    Path file = new Path(path, name);
                    if (fs.exists(file)) {
                        files.put(name, readAll(fs, file));
                    }
                }
                if (!files.containsKey(TrainedTokenizer.TOKENIZER_JSON)) {
                    throw new BadInputException(
                            "--tokenizer "
                                    + location
                                    + " has no tokenizer.json; give a"
                                    + " train-tokenizer output directory");
                }
            } else if (path.getName().endsWith(".txt")) {
                String vocab = new String(readAll(fs, path), StandardCharsets.UTF_8);
                files.putAll(
                        TrainedTokenizer.fromBertVocab(vocab.lines().toList(), lowercase).files());
            } else {
                files.put(TrainedTokenizer.TOKENIZER_JSON, readAll(fs, path));
            }
        } catch (IOException e) {
            throw new BadInputException(
                    "--tokenizer " + location + " cannot be read: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--tokenizer " + location + ": " + e.getMessage(), e);
        }
        TokenizerSource source = new TokenizerSource(files);
        try {
            load(source.json());
        } catch (BadInputException e) {
            throw new BadInputException("--tokenizer " + location + ": " + e.getMessage(), e);
        }
        return source;
    }

    private static byte[] readAll(FileSystem fs, Path file) throws IOException {
        try (InputStream in = fs.open(file)) {
            return in.readAllBytes();
        } catch (FileNotFoundException e) {
            throw new IOException("not found: " + file, e);
        }
    }

    /** The bytes of {@code tokenizer.json}. */
    public byte[] json() {
        return files.get(TrainedTokenizer.TOKENIZER_JSON);
    }

    /** SHA-256 of {@code tokenizer.json}, hex. */
    public String sha256() {
        return sha256(json());
    }

    /** The tokenizer, loaded once per JVM (per distinct {@code tokenizer.json}). */
    public LmTokenizer tokenizer() {
        return load(json());
    }

    /** The tokenizer of these {@code tokenizer.json} bytes, loaded once per JVM. */
    public static LmTokenizer load(byte[] tokenizerJson) {
        return LOADED.computeIfAbsent(
                sha256(tokenizerJson), k -> LmTokenizer.fromJson(tokenizerJson));
    }

    /** Hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
