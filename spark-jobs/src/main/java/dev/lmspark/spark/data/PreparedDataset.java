package dev.lmspark.spark.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.collate.MaskingConfig;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.spark.HadoopPaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A prepared dataset — the directory {@code prepare} writes — as an immutable snapshot of its
 * {@code manifest.json}, read and validated once (on the driver) and shipped to executors by Java
 * serialization. The contract is documented in {@code docs/dataset-format.md}:
 *
 * <pre>
 * ROOT/manifest.json                 written last; its presence means the dataset is complete
 * ROOT/tokenizer/                    the tokenizer the rows were made with
 * ROOT/train/part-NNNNN.parquet      shards; each holds a contiguous ascending example_id range
 * ROOT/validation/part-NNNNN.parquet
 * ROOT/predict/part-NNNNN.parquet    mlm-seq2seq only
 * </pre>
 *
 * <p>Accessors taking a split throw {@link BadInputException} for a split the dataset does not have
 * ({@link #hasSplit} asks). Read rows with {@link ExampleReader}.
 */
public final class PreparedDataset implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The newest dataset format this code writes and reads. */
    public static final int FORMAT_VERSION = 1;

    /** The manifest's file name, directly under the dataset root. */
    public static final String MANIFEST = "manifest.json";

    /** The tokenizer directory's name, directly under the dataset root. */
    public static final String TOKENIZER = "tokenizer";

    /** Every split a dataset may have, in the order they are written and listed. */
    public static final List<String> SPLITS = List.of("train", "validation", "predict");

    /** The most rows a Parquet row group holds. */
    public static final int ROW_GROUP = 1024;

    /** The label of a position that is not predicted (PyTorch's {@code ignore_index}). */
    public static final int IGNORE_LABEL = -100;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> OBJECTIVES = List.of("mlm", "clm", "mlm-seq2seq");

    /**
     * One Parquet file of a split.
     *
     * @param split train, validation or predict
     * @param path the file, relative to the dataset root ({@code train/part-00000.parquet})
     * @param rows examples in the file
     * @param firstExampleId the file holds example_ids {@code [firstExampleId, firstExampleId +
     *     rows)}, ascending
     * @param bytes the file's size
     * @param sha256 the file's SHA-256, lowercase hex
     */
    public record Shard(
            String split, String path, long rows, long firstExampleId, long bytes, String sha256)
            implements Serializable {}

    private final String root;
    private final String manifestText;
    private transient JsonNode manifest;
    private final String objective;
    private final int maxLength;
    private final long seed;
    private final List<String> splits;
    private final Map<String, Long> numExamples;
    private final Map<String, Long> numTokens;
    private final Map<String, String> paddingSide;
    private final List<Shard> shards;
    private final boolean nsp;
    private final MaskingConfig masking;
    private final int vocabSize;
    private final SpecialTokenIds specialTokenIds;
    private final String tokenizerSha256;
    private final String tokenizerType;

    private PreparedDataset(String root, String manifestText, JsonNode m) {
        this.root = root;
        this.manifestText = manifestText;
        this.manifest = m;
        String where = root + "/" + MANIFEST;
        JsonNode version = m.path("format_version");
        if (!version.canConvertToInt() || version.asInt() < 1 || version.asInt() > FORMAT_VERSION) {
            throw new BadInputException(
                    where
                            + ": format_version found "
                            + (version.isMissingNode() ? "none" : version.asText())
                            + ", this lmspark reads up to "
                            + FORMAT_VERSION
                            + "; read it with the lmspark that wrote it, or prepare it again");
        }
        objective = text(m, "objective", where);
        if (!OBJECTIVES.contains(objective)) {
            throw malformed(where, "objective '" + objective + "' is not mlm, clm or mlm-seq2seq");
        }
        maxLength = (int) number(m, "max_length", where);
        if (maxLength < 1) {
            throw malformed(where, "max_length " + maxLength + " is not positive");
        }
        seed = number(m, "seed", where);

        numExamples = new LinkedHashMap<>();
        numTokens = new LinkedHashMap<>();
        paddingSide = new LinkedHashMap<>();
        JsonNode examples = object(m, "num_examples", where);
        examples.fieldNames()
                .forEachRemaining(
                        split -> {
                            if (!SPLITS.contains(split)) {
                                throw malformed(where, "num_examples has unknown split " + split);
                            }
                        });
        List<String> present = new ArrayList<>();
        for (String split : SPLITS) {
            if (examples.has(split)) {
                present.add(split);
                numExamples.put(split, number(examples, split, where));
                numTokens.put(split, m.path("num_tokens").path(split).asLong(0));
                paddingSide.put(
                        split,
                        m.path("padding_side")
                                .path(split)
                                .asText(split.equals("predict") ? "left" : "right"));
            }
        }
        splits = List.copyOf(present);

        JsonNode shardArray = m.path("shards");
        if (!shardArray.isArray()) {
            throw malformed(where, "'shards' is missing or not a list");
        }
        List<Shard> list = new ArrayList<>();
        for (JsonNode s : shardArray) {
            String split = text(s, "split", where + " shards[]");
            String path = text(s, "path", where + " shards[]");
            if (!numExamples.containsKey(split)) {
                throw malformed(where, "shard " + path + " is in split " + split + ", not listed");
            }
            if (path.startsWith("/") || path.contains(":") || path.contains("..")) {
                throw malformed(where, "shard path " + path + " is not inside the dataset");
            }
            list.add(
                    new Shard(
                            split,
                            path,
                            number(s, "rows", where + " " + path),
                            number(s, "first_example_id", where + " " + path),
                            number(s, "bytes", where + " " + path),
                            s.path("sha256").asText("")));
        }
        shards = List.copyOf(list);

        JsonNode config = m.path("config");
        nsp = objective.equals("mlm") && config.path("nsp").asBoolean(false);
        if (objective.equals("mlm")) {
            try {
                masking =
                        new MaskingConfig(
                                MaskingConfig.Strategy.fromCliName(
                                        config.path("masking").asText("bernoulli")),
                                config.path("mlm_probability").asDouble(0.15),
                                config.path("mask_replace_prob").asDouble(0.8),
                                config.path("random_replace_prob").asDouble(0.1),
                                config.path("max_predictions").asInt(20),
                                config.path("whole_word_mask").asBoolean(false));
            } catch (IllegalArgumentException e) {
                throw malformed(where, "config's masking is invalid (" + e.getMessage() + ")");
            }
        } else {
            masking = null;
        }

        JsonNode tokenizer = object(m, "tokenizer", where);
        vocabSize = (int) number(tokenizer, "vocab_size", where + " tokenizer");
        tokenizerSha256 = tokenizer.path("sha256").asText("");
        tokenizerType = tokenizer.path("type").asText("");
        JsonNode ids = tokenizer.path("special_token_ids");
        specialTokenIds =
                new SpecialTokenIds(
                        id(ids, "pad"),
                        id(ids, "unk"),
                        id(ids, "cls"),
                        id(ids, "sep"),
                        id(ids, "mask"),
                        id(ids, "bos"),
                        id(ids, "eos"),
                        id(ids, "fim_prefix"),
                        id(ids, "fim_middle"),
                        id(ids, "fim_suffix"),
                        id(ids, "fim_pad"));
    }

    /**
     * Reads and validates {@code path/manifest.json}.
     *
     * @param path the dataset directory, any Hadoop path ({@code file:}, {@code hdfs:}, {@code
     *     s3a:} …, or a bare local path)
     * @throws BadInputException when the manifest is missing (an unfinished or foreign directory),
     *     is not JSON, has a format_version this code does not read, or lacks a field the contract
     *     needs
     * @throws UncheckedIOException when the file system fails
     */
    public static PreparedDataset open(String path, Configuration conf) {
        if (path == null || path.isBlank()) {
            throw new BadInputException("the dataset path is empty; give a prepare --output");
        }
        Path dir = new Path(path);
        FileSystem fs = HadoopPaths.fileSystem(dir, conf);
        Path qualified = fs.makeQualified(dir);
        Path file = new Path(qualified, MANIFEST);
        String text;
        try {
            if (!fs.exists(qualified)) {
                throw new BadInputException(
                        qualified + " does not exist; give a directory written by lmspark prepare");
            }
            if (!fs.exists(file)) {
                throw new BadInputException(
                        qualified
                                + " has no "
                                + MANIFEST
                                + ": it is not a prepared dataset, or prepare did not finish;"
                                + " give a directory written by lmspark prepare");
            }
            try (InputStream in = fs.open(file)) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(qualified.toString(), text);
    }

    /**
     * A dataset from a manifest's text, without touching a file system.
     *
     * @param root the dataset's qualified URI, which shard paths are relative to
     * @throws BadInputException as {@link #open} does
     */
    public static PreparedDataset parse(String root, String manifestText) {
        String where = root + "/" + MANIFEST;
        JsonNode m;
        try {
            m = JSON.readTree(manifestText);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw new BadInputException(
                    where
                            + " is not valid JSON ("
                            + e.getOriginalMessage().lines().findFirst().orElse("")
                            + (at == null ? "" : " at line " + at.getLineNr())
                            + "); restore it, or prepare the dataset again");
        }
        if (m == null || !m.isObject()) {
            throw new BadInputException(
                    where + " is not a JSON object; restore it, or prepare the dataset again");
        }
        return new PreparedDataset(root, manifestText, m);
    }

    private static BadInputException malformed(String where, String what) {
        return new BadInputException(
                where + ": " + what + "; restore the manifest, or prepare the dataset again");
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node.path(field);
        if (!v.isTextual()) {
            throw malformed(where, "'" + field + "' is missing or not a string");
        }
        return v.asText();
    }

    private static long number(JsonNode node, String field, String where) {
        JsonNode v = node.path(field);
        if (!v.canConvertToLong() || !v.isIntegralNumber()) {
            throw malformed(where, "'" + field + "' is missing or not an integer");
        }
        return v.asLong();
    }

    private static JsonNode object(JsonNode node, String field, String where) {
        JsonNode v = node.path(field);
        if (!v.isObject()) {
            throw malformed(where, "'" + field + "' is missing or not an object");
        }
        return v;
    }

    private static Integer id(JsonNode ids, String name) {
        JsonNode v = ids.path(name);
        return v.canConvertToInt() && v.isIntegralNumber() ? v.asInt() : null;
    }

    /** The dataset directory as a qualified URI ({@code file:/data/mlm}, {@code hdfs://…}). */
    public String root() {
        return root;
    }

    /** {@code mlm}, {@code clm} or {@code mlm-seq2seq}. */
    public String objective() {
        return objective;
    }

    /** Every array column's length, in tokens. */
    public int maxLength() {
        return maxLength;
    }

    /** The seed every random choice of {@code prepare} was keyed on. */
    public long seed() {
        return seed;
    }

    /** The splits the dataset has, in {@link #SPLITS} order. */
    public List<String> splits() {
        return splits;
    }

    /** Whether the dataset has {@code split}. */
    public boolean hasSplit(String split) {
        return numExamples.containsKey(split);
    }

    /** Examples in {@code split}, all increments together; example_ids are {@code [0, n)}. */
    public long numExamples(String split) {
        return numExamples.get(require(split));
    }

    /** Real (non-padding) tokens in {@code split}. */
    public long numTokens(String split) {
        return numTokens.get(require(split));
    }

    /** {@code right} or {@code left}: where {@code split}'s padding is (predict is left). */
    public String paddingSide(String split) {
        return paddingSide.get(require(split));
    }

    /** {@code split}'s shards, ordered by {@code firstExampleId}. */
    public List<Shard> shards(String split) {
        require(split);
        return shards.stream()
                .filter(s -> s.split().equals(split))
                .sorted(Comparator.comparingLong(Shard::firstExampleId))
                .toList();
    }

    /** Every shard, in manifest order (splits and increments interleaved as written). */
    public List<Shard> shards() {
        return shards;
    }

    /** A shard's file, resolved against {@link #root}. */
    public Path file(Shard shard) {
        return new Path(root, shard.path());
    }

    /** Whether rows are NSP pairs and carry {@link DatasetColumns#NEXT_SENTENCE_LABEL}. */
    public boolean hasNsp() {
        return nsp;
    }

    /** Whether rows carry {@link DatasetColumns#WORD_START} (objective mlm). */
    public boolean hasWordStart() {
        return objective.equals("mlm");
    }

    /**
     * Whether {@code split}'s rows carry {@link DatasetColumns#TARGET_IDS} (mlm-seq2seq's predict
     * split).
     */
    public boolean hasTargetIds(String split) {
        require(split);
        return objective.equals("mlm-seq2seq") && split.equals("predict");
    }

    /** The columns of {@code split}'s rows, in file order. */
    public List<String> columns(String split) {
        List<String> c = new ArrayList<>();
        c.add(DatasetColumns.EXAMPLE_ID);
        c.add(DatasetColumns.INPUT_IDS);
        c.add(DatasetColumns.ATTENTION_MASK);
        c.add(DatasetColumns.TOKEN_TYPE_IDS);
        c.add(DatasetColumns.LABELS);
        c.add(DatasetColumns.SPECIAL_TOKENS_MASK);
        if (hasWordStart()) {
            c.add(DatasetColumns.WORD_START);
        }
        if (hasNsp()) {
            c.add(DatasetColumns.NEXT_SENTENCE_LABEL);
        }
        if (hasTargetIds(split)) {
            c.add(DatasetColumns.TARGET_IDS);
        }
        c.add(DatasetColumns.DOC_ID);
        return List.copyOf(c);
    }

    /** How MLM positions were chosen; null unless the objective is {@code mlm}. */
    public MaskingConfig masking() {
        return masking;
    }

    /** The tokenizer's vocabulary size (ids are {@code [0, vocabSize)}). */
    public int vocabSize() {
        return vocabSize;
    }

    /** The tokenizer's special token ids, null where it has none. */
    public SpecialTokenIds specialTokenIds() {
        return specialTokenIds;
    }

    /** SHA-256 of {@code tokenizer/tokenizer.json}, lowercase hex. */
    public String tokenizerSha256() {
        return tokenizerSha256;
    }

    /** The tokenizer's model type as written ({@code WordPiece}, {@code BPE}). */
    public String tokenizerType() {
        return tokenizerType;
    }

    /** The dataset's copy of its tokenizer: a directory holding {@code tokenizer.json}. */
    public String tokenizerPath() {
        return new Path(root, TOKENIZER).toString();
    }

    /** The manifest as read, for fields without an accessor (statistics, provenance …). */
    public JsonNode manifest() {
        if (manifest == null) {
            try {
                manifest = JSON.readTree(manifestText);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("the manifest parsed before", e);
            }
        }
        return manifest;
    }

    private String require(String split) {
        if (!numExamples.containsKey(split)) {
            throw new BadInputException(
                    "split "
                            + split
                            + " is not in "
                            + root
                            + "; it has "
                            + String.join(", ", splits));
        }
        return split;
    }

    @Override
    public String toString() {
        return "PreparedDataset[" + root + ", " + objective + ", max_length " + maxLength + "]";
    }
}
