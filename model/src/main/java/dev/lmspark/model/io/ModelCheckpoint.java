package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.config.ModelConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A model in an lmspark checkpoint directory: {@value #WEIGHTS_FILE} (every parameter by lmspark
 * name, float bits as trained, with the data's SHA-256 in its metadata) and {@value #CONFIG_FILE}
 * (the {@link ModelConfig} JSON with a {@code format_version}). Writing then reading gives the same
 * config and the same bits.
 *
 * <p>Both files carry {@code format_version} {@value #FORMAT_VERSION}; a reader refuses a version
 * it does not know ("found X, this lmspark reads up to Y"), and malformed, truncated or corrupt
 * files fail with one line naming the file.
 */
public final class ModelCheckpoint {
    /** The version this lmspark writes, and the newest it reads. */
    public static final int FORMAT_VERSION = 1;

    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "model.safetensors";

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelCheckpoint() {}

    /**
     * Writes {@value #WEIGHTS_FILE} (sharded above 2 GiB, see {@link ShardedSafeTensors}) and
     * {@value #CONFIG_FILE} to {@code out}.
     */
    public static void write(ModelWeights model, OutputFolder out) throws IOException {
        List<SafeTensors.Entry> entries = new java.util.ArrayList<>();
        model.parameters().forEach((name, a) -> entries.add(SafeTensors.Entry.of(name, a)));
        writeWeights(entries, out);
        try (OutputStream s = out.create(CONFIG_FILE)) {
            s.write(configJson(model.config()).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Writes the weights from parameters streamed a chunk at a time (a model larger than the heap):
     * {@value #WEIGHTS_FILE}, or above 2 GiB of data Hugging Face's sharded layout ({@code
     * model-00001-of-0000N.safetensors} … and {@code model.safetensors.index.json}); the bytes
     * {@link #write} gives for the same values. Returns the files' names.
     */
    public static List<String> writeWeights(List<SafeTensors.Entry> parameters, OutputFolder out)
            throws IOException {
        return ShardedSafeTensors.write("model", parameters, WEIGHTS_METADATA, true, out);
    }

    private static final Map<String, String> WEIGHTS_METADATA =
            Map.of("format", "pt", "format_version", String.valueOf(FORMAT_VERSION));

    /**
     * Reads a model written by {@link #write}, its arrays created on {@code manager}.
     *
     * @throws IOException naming the file when one is missing, of an unknown format version,
     *     malformed, truncated, corrupt, or not matching the other
     */
    public static ModelWeights read(InputFolder in, NDManager manager) throws IOException {
        ModelConfig config;
        try (InputStream s = open(in, CONFIG_FILE)) {
            config =
                    parseConfig(
                            new String(s.readAllBytes(), StandardCharsets.UTF_8),
                            where(in, CONFIG_FILE));
        }
        ShardedSafeTensors.Contents contents = ShardedSafeTensors.read(in, "model", manager);
        try {
            FormatVersion.check(
                    where(in, WEIGHTS_FILE),
                    contents.metadata().get("format_version"),
                    FORMAT_VERSION);
            return new ModelWeights(config, contents.tensors());
        } catch (IllegalArgumentException e) {
            contents.tensors().values().forEach(NDArray::close);
            throw new IOException(
                    where(in, WEIGHTS_FILE)
                            + " does not match "
                            + CONFIG_FILE
                            + ": "
                            + e.getMessage(),
                    e);
        } catch (IOException e) {
            contents.tensors().values().forEach(NDArray::close);
            throw e;
        }
    }

    /** {@value #CONFIG_FILE}'s text: {@code format_version} and the config's fields. */
    public static String configJson(ModelConfig config) {
        try {
            ObjectNode node = JSON.createObjectNode();
            node.put("format_version", FORMAT_VERSION);
            node.setAll((ObjectNode) JSON.readTree(config.toJson()));
            return JSON.writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The config of a {@value #CONFIG_FILE} text.
     *
     * @param file names the file in messages
     * @throws IOException when the text is not JSON, has an unknown {@code format_version}, or a
     *     field is invalid
     */
    public static ModelConfig parseConfig(String json, String file) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IOException(
                    file
                            + " is not JSON: "
                            + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + " is not a JSON object");
        }
        JsonNode version = node.get("format_version");
        FormatVersion.check(file, version == null ? null : version.asText(), FORMAT_VERSION);
        ((ObjectNode) node).remove("format_version");
        try {
            return ModelConfig.fromJson(node.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    static InputStream open(InputFolder in, String name) throws IOException {
        if (!in.exists(name)) {
            throw new IOException(
                    where(in, name) + " does not exist: not a complete lmspark checkpoint");
        }
        return in.open(name);
    }

    static String where(InputFolder in, String name) {
        return in.describe() + "/" + name;
    }
}
