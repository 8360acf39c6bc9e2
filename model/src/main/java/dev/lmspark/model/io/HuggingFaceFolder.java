package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceConfig.SpecialTokenIds;
import dev.lmspark.model.nn.Initialization;
import dev.lmspark.model.nn.Transformer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Hugging Face model folder, as {@code transformers}' {@code save_pretrained} writes it and
 * {@code from_pretrained} reads it: {@value #CONFIG_FILE} (see {@link HuggingFaceConfig}), {@value
 * #WEIGHTS_FILE} with Hugging Face parameter names, and the tokenizer's files.
 *
 * <p>Tied weights are written as {@code save_pretrained} writes them: once. BERT's decoder weight
 * ({@code cls.predictions.decoder.weight}, tied to the word embeddings) and decoder bias ({@code
 * cls.predictions.decoder.bias}, tied to {@code cls.predictions.bias}) are left out, and so is
 * Llama's {@code lm_head.weight} when the config ties it. Reading accepts files with or without
 * those copies (the tie wins, as in {@code transformers}; a copy that differs is reported), the
 * {@code gamma}/{@code beta} LayerNorm names of old BERT checkpoints, files saved from the base
 * model (no {@code bert.}/{@code model.} prefix), sharded files ({@code
 * model.safetensors.index.json}) and half-precision weights (converted to float32). Only
 * safetensors files are read: a folder with just {@code pytorch_model.bin} is refused.
 *
 * <p>Reading is lenient where {@code from_pretrained} is: head weights the file lacks (the pooler
 * and NSP head of a {@code BertForMaskedLM} download, say) are freshly initialised and weights the
 * model does not use are skipped, each listed in {@link Imported#warnings()}. Trunk weights the
 * file lacks are an error.
 */
public final class HuggingFaceFolder {
    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "model.safetensors";
    public static final String WEIGHTS_INDEX_FILE = "model.safetensors.index.json";

    /** The tokenizer files an export usually carries. */
    public static final List<String> TOKENIZER_FILES =
            List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Buffers {@code transformers} saved in some versions; never weights. */
    private static final List<String> BUFFERS =
            List.of(".position_ids", ".token_type_ids", ".rotary_emb.inv_freq");

    private HuggingFaceFolder() {}

    /**
     * A model read from a folder.
     *
     * @param weights the model, by lmspark names
     * @param architecture the Hugging Face class the config names (e.g. {@code BertForMaskedLM})
     * @param tokens the special token ids the config records
     * @param warnings what was initialised, skipped or converted, one line each
     */
    public record Imported(
            ModelWeights weights,
            String architecture,
            SpecialTokenIds tokens,
            List<String> warnings) {}

    /**
     * Writes {@code model} as a Hugging Face folder: {@value #CONFIG_FILE}, {@value #WEIGHTS_FILE}
     * (float32; above 2 GiB of weights Hugging Face's sharded layout, {@code
     * model-00001-of-0000N.safetensors} … with {@value #WEIGHTS_INDEX_FILE}) and each of {@code
     * tokenizerFiles} (name to bytes, written as given).
     *
     * @param tokens the tokenizer's special token ids, recorded in the config
     * @throws IllegalArgumentException when the model has no Hugging Face equivalent (naming the
     *     config field), or a tokenizer file name is not a plain file name
     */
    public static void write(
            ModelWeights model,
            SpecialTokenIds tokens,
            Map<String, byte[]> tokenizerFiles,
            OutputFolder out)
            throws IOException {
        String config = HuggingFaceConfig.toJson(model.config(), tokens);
        for (String name : tokenizerFiles.keySet()) {
            if (name.isEmpty()
                    || name.contains("/")
                    || name.contains("\\")
                    || name.equals(".")
                    || name.equals("..")
                    || name.equals(CONFIG_FILE)
                    || name.startsWith(WEIGHTS_FILE)) {
                throw new IllegalArgumentException(
                        "tokenizer file name '"
                                + name
                                + "' is not allowed; give plain names such as "
                                + String.join(", ", TOKENIZER_FILES));
            }
        }
        Map<String, NDArray> renamed = new LinkedHashMap<>();
        List<NDArray> converted = new ArrayList<>();
        HuggingFaceNames.of(model.config())
                .forEach(
                        (ours, theirs) -> {
                            NDArray a = model.parameters().get(ours);
                            if (a.getDataType() != DataType.FLOAT32) {
                                a = a.toType(DataType.FLOAT32, false);
                                converted.add(a);
                            }
                            renamed.put(theirs, a);
                        });
        try {
            List<SafeTensors.Entry> entries = new ArrayList<>();
            renamed.forEach((name, a) -> entries.add(SafeTensors.Entry.of(name, a)));
            ShardedSafeTensors.write("model", entries, Map.of("format", "pt"), false, out);
        } finally {
            converted.forEach(NDArray::close);
        }
        try (OutputStream s = out.create(CONFIG_FILE)) {
            s.write(config.getBytes(StandardCharsets.UTF_8));
        }
        for (Map.Entry<String, byte[]> e : tokenizerFiles.entrySet()) {
            try (OutputStream s = out.create(e.getKey())) {
                s.write(e.getValue());
            }
        }
    }

    /**
     * Reads a Hugging Face folder into an lmspark model, its arrays created on {@code manager}.
     *
     * @param seed seeds the heads the file lacks (as {@link Initialization} does)
     * @throws IOException naming the file: no config, an unsupported architecture or setting, no
     *     safetensors weights, a malformed file, trunk weights missing or of the wrong shape
     */
    public static Imported read(InputFolder in, NDManager manager, long seed) throws IOException {
        if (!in.exists(CONFIG_FILE)) {
            throw new IOException(
                    in.describe() + " has no " + CONFIG_FILE + ": not a Hugging Face model folder");
        }
        HuggingFaceConfig.Parsed parsed;
        try (InputStream s = in.open(CONFIG_FILE)) {
            parsed = HuggingFaceConfig.parse(new String(s.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    ModelCheckpoint.where(in, CONFIG_FILE) + ": " + e.getMessage(), e);
        }
        ModelConfig config = parsed.config();
        List<String> warnings = new ArrayList<>(parsed.warnings());
        Set<String> converted = new TreeSet<>();
        Map<String, NDArray> file = normalizedNames(readTensors(in, manager, converted), config);
        String weightsFile = ModelCheckpoint.where(in, WEIGHTS_FILE);

        Set<String> trunk = Transformer.parameterShapes(config).keySet();
        Map<String, Shape> shapes = ModelWeights.shapes(config);
        Map<String, String> names = HuggingFaceNames.of(config);
        Map<String, NDArray> params = new LinkedHashMap<>();
        Map<String, Shape> fresh = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, String> e : names.entrySet()) {
            String ours = e.getKey();
            NDArray a = file.remove(e.getValue());
            if (a == null && ours.equals("mlm_head.decoder.bias")) {
                a = file.remove("cls.predictions.decoder.bias");
            }
            if (a == null) {
                if (trunk.contains(ours)) {
                    missing.add(e.getValue());
                } else {
                    fresh.put(ours, shapes.get(ours));
                }
                continue;
            }
            if (!a.getShape().equals(shapes.get(ours))) {
                throw new IOException(
                        weightsFile
                                + ": "
                                + e.getValue()
                                + " has shape "
                                + a.getShape()
                                + ", "
                                + CONFIG_FILE
                                + " needs "
                                + shapes.get(ours));
            }
            if (a.getDataType() != DataType.FLOAT32) {
                converted.add(a.getDataType().toString());
                NDArray f = a.toType(DataType.FLOAT32, false);
                a.close();
                a = f;
            }
            params.put(ours, a);
        }
        if (!missing.isEmpty()) {
            throw new IOException(
                    weightsFile
                            + " lacks "
                            + ModelWeights.listed(missing)
                            + ", which the "
                            + parsed.architecture()
                            + " of "
                            + CONFIG_FILE
                            + " needs");
        }
        if (!converted.isEmpty()) {
            warnings.add("converted " + String.join(", ", converted) + " weights to float32");
        }
        NDArray words = params.get("embeddings.word");
        tiedCopy(file, "cls.predictions.decoder.weight", words, "the word embeddings", warnings);
        tiedCopy(
                file,
                "cls.predictions.decoder.bias",
                params.get("mlm_head.decoder.bias"),
                "cls.predictions.bias",
                warnings);
        if (config.tieWordEmbeddings()) {
            tiedCopy(file, "lm_head.weight", words, "the word embeddings", warnings);
        }
        List<String> unused = new ArrayList<>();
        file.forEach(
                (name, a) -> {
                    if (BUFFERS.stream().noneMatch(name::endsWith)) {
                        unused.add(name);
                    }
                    a.close();
                });
        if (!unused.isEmpty()) {
            warnings.add("weights not used by lmspark's model: " + ModelWeights.listed(unused));
        }
        if (!fresh.isEmpty()) {
            params.putAll(
                    Initialization.initialize(fresh, config.initializerRange(), manager, seed));
            List<String> theirs = new ArrayList<>();
            fresh.keySet().forEach(n -> theirs.add(names.get(n)));
            warnings.add(
                    "not in "
                            + WEIGHTS_FILE
                            + ", newly initialised: "
                            + ModelWeights.listed(theirs));
        }
        return new Imported(
                new ModelWeights(config, params), parsed.architecture(), parsed.tokens(), warnings);
    }

    /** Takes out a tied copy, reporting it when it differs from the weight it is tied to. */
    private static void tiedCopy(
            Map<String, NDArray> file,
            String name,
            NDArray tiedTo,
            String tiedName,
            List<String> warnings) {
        NDArray copy = file.remove(name);
        if (copy == null) {
            return;
        }
        boolean same =
                copy.getShape().equals(tiedTo.getShape())
                        && copy.toType(DataType.FLOAT32, false).contentEquals(tiedTo);
        if (!same) {
            warnings.add(
                    name
                            + " differs from "
                            + tiedName
                            + "; the two are tied, so lmspark (as transformers) uses "
                            + tiedName);
        }
        copy.close();
    }

    /**
     * Old BERT names ({@code LayerNorm.gamma}/{@code beta}) as today's, and names saved from the
     * base model ({@code embeddings.…}) with the task model's prefix ({@code bert.…}).
     */
    private static Map<String, NDArray> normalizedNames(
            Map<String, NDArray> tensors, ModelConfig config) {
        String base = HuggingFaceNames.basePrefix(config);
        boolean prefixed = tensors.keySet().stream().anyMatch(n -> n.startsWith(base));
        Map<String, NDArray> out = new LinkedHashMap<>();
        tensors.forEach(
                (name, a) -> {
                    String n = name;
                    if (n.endsWith(".gamma")) {
                        n = n.substring(0, n.length() - ".gamma".length()) + ".weight";
                    } else if (n.endsWith(".beta")) {
                        n = n.substring(0, n.length() - ".beta".length()) + ".bias";
                    }
                    if (!prefixed && !n.startsWith("cls.") && !n.startsWith("lm_head.")) {
                        n = base + n;
                    }
                    out.put(n, a);
                });
        return out;
    }

    /** Every tensor of {@value #WEIGHTS_FILE}, or of the shards its index lists. */
    private static Map<String, NDArray> readTensors(
            InputFolder in, NDManager manager, Set<String> converted) throws IOException {
        if (in.exists(WEIGHTS_FILE)) {
            return readSafeTensors(in, WEIGHTS_FILE, manager, converted);
        }
        if (in.exists(WEIGHTS_INDEX_FILE)) {
            JsonNode map;
            try (InputStream s = in.open(WEIGHTS_INDEX_FILE)) {
                map = JSON.readTree(s).path("weight_map");
            } catch (IOException e) {
                throw new IOException(
                        ModelCheckpoint.where(in, WEIGHTS_INDEX_FILE) + " is not JSON", e);
            }
            if (!map.isObject() || map.isEmpty()) {
                throw new IOException(
                        ModelCheckpoint.where(in, WEIGHTS_INDEX_FILE) + " has no weight_map");
            }
            Set<String> shards = new TreeSet<>();
            map.forEach(f -> shards.add(f.asText()));
            Map<String, NDArray> all = new LinkedHashMap<>();
            for (String shard : shards) {
                if (shard.contains("/") || shard.contains("\\")) {
                    throw new IOException(
                            ModelCheckpoint.where(in, WEIGHTS_INDEX_FILE)
                                    + " names a shard outside the folder: "
                                    + shard);
                }
                all.putAll(readSafeTensors(in, shard, manager, converted));
            }
            return all;
        }
        for (String other :
                List.of(
                        "pytorch_model.bin",
                        "pytorch_model.bin.index.json",
                        "tf_model.h5",
                        "flax_model.msgpack")) {
            if (in.exists(other)) {
                throw new IOException(
                        in.describe()
                                + " holds "
                                + other
                                + " but no "
                                + WEIGHTS_FILE
                                + ": lmspark reads only safetensors weights; convert them first"
                                + " (in Python: model.save_pretrained(folder,"
                                + " safe_serialization=True))");
            }
        }
        throw new IOException(
                in.describe() + " has no " + WEIGHTS_FILE + " (nor " + WEIGHTS_INDEX_FILE + ")");
    }

    /**
     * The tensors of file {@code name}; adds the dtypes widened to float32 to {@code converted}.
     */
    private static Map<String, NDArray> readSafeTensors(
            InputFolder in, String name, NDManager manager, Set<String> converted)
            throws IOException {
        if (!in.exists(name)) {
            throw new IOException(ModelCheckpoint.where(in, name) + " does not exist");
        }
        try (InputStream s = in.open(name)) {
            SafeTensors.Contents contents = SafeTensors.readContents(s, manager);
            contents.widened().values().forEach(t -> converted.add(t.toString()));
            return contents.tensors();
        } catch (IOException e) {
            throw new IOException(ModelCheckpoint.where(in, name) + ": " + e.getMessage(), e);
        }
    }
}
