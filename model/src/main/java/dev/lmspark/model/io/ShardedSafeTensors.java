package dev.lmspark.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A model's weights as one safetensors file, or — above {@value #MAX_FILE_BYTES} bytes of data, and
 * only then — in Hugging Face's sharded layout: {@code model-00001-of-0000N.safetensors} …, the
 * tensors split at tensor boundaries in name order, each file at most that size, and {@code
 * model.safetensors.index.json} ({@code metadata.total_size}, and {@code weight_map}: tensor name →
 * file), the layout {@code transformers}' {@code save_pretrained} writes and every large-model tool
 * reads. Every file carries the same metadata (and its own data checksum). A single tensor over 2
 * GiB is out of scope: refused when written.
 */
public final class ShardedSafeTensors {
    /** Data bytes above which weights are sharded, and the most one shard file holds: 2 GiB. */
    public static final long MAX_FILE_BYTES = 1L << 31;

    /** The index of a sharded layout. */
    public static final String INDEX_SUFFIX = ".index.json";

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ShardedSafeTensors() {}

    /**
     * Writes {@code entries} as {@code <base>.safetensors}, or sharded when their data exceeds
     * {@link #MAX_FILE_BYTES}; returns the names of the files written.
     */
    public static List<String> write(
            String base,
            List<SafeTensors.Entry> entries,
            Map<String, String> metadata,
            boolean checksum,
            OutputFolder out)
            throws IOException {
        return write(base, entries, metadata, checksum, out, MAX_FILE_BYTES);
    }

    /** As {@link #write(String, List, Map, boolean, OutputFolder)}, sharding above {@code max}. */
    static List<String> write(
            String base,
            List<SafeTensors.Entry> entries,
            Map<String, String> metadata,
            boolean checksum,
            OutputFolder out,
            long max)
            throws IOException {
        TreeMap<String, SafeTensors.Entry> sorted = new TreeMap<>();
        entries.forEach(e -> sorted.put(e.name(), e));
        long total = 0;
        List<List<SafeTensors.Entry>> files = new ArrayList<>();
        List<SafeTensors.Entry> current = new ArrayList<>();
        long size = 0;
        for (SafeTensors.Entry e : sorted.values()) {
            long bytes = bytes(e);
            total += bytes;
            if (!current.isEmpty() && size + bytes > max) {
                files.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += bytes;
        }
        files.add(current);
        List<String> written = new ArrayList<>();
        if (total <= max) {
            String name = base + ".safetensors";
            try (OutputStream s = out.create(name)) {
                SafeTensors.write(entries, metadata, checksum, s);
            }
            written.add(name);
            return written;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < files.size(); i++) {
            String name = String.format("%s-%05d-of-%05d.safetensors", base, i + 1, files.size());
            try (OutputStream s = out.create(name)) {
                SafeTensors.write(files.get(i), metadata, checksum, s);
            }
            for (SafeTensors.Entry e : files.get(i)) {
                map.put(e.name(), name);
            }
            written.add(name);
        }
        String indexName = base + ".safetensors" + INDEX_SUFFIX;
        try (OutputStream s = out.create(indexName)) {
            s.write((JSON.writeValueAsString(index) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        written.add(indexName);
        return written;
    }

    private static long bytes(SafeTensors.Entry e) {
        long n = e.dataType().getNumOfBytes();
        for (long d : e.shape()) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Whether {@code in} holds {@code <base>.safetensors} or its sharded index. */
    public static boolean exists(InputFolder in, String base) throws IOException {
        return in.exists(base + ".safetensors") || in.exists(base + ".safetensors" + INDEX_SUFFIX);
    }

    /** What {@link #read} found: the files' metadata (the first file's) and every tensor. */
    public record Contents(Map<String, String> metadata, Map<String, NDArray> tensors) {}

    /**
     * Reads {@code <base>.safetensors}, or the shards its index names (each must lie in the same
     * folder and hold exactly the tensors the index maps to it), every file checked as {@link
     * SafeTensors#readContents} checks one.
     */
    public static Contents read(InputFolder in, String base, NDManager manager) throws IOException {
        String single = base + ".safetensors";
        if (in.exists(single)) {
            try (InputStream s = in.open(single)) {
                SafeTensors.Contents c = SafeTensors.readContents(s, manager);
                return new Contents(c.metadata(), c.tensors());
            } catch (IOException e) {
                throw new IOException(ModelCheckpoint.where(in, single) + ": " + e.getMessage(), e);
            }
        }
        String indexName = single + INDEX_SUFFIX;
        if (!in.exists(indexName)) {
            throw new IOException(
                    ModelCheckpoint.where(in, single)
                            + " does not exist (nor "
                            + indexName
                            + "): not a complete lmspark checkpoint");
        }
        JsonNode map;
        try (InputStream s = in.open(indexName)) {
            map = JSON.readTree(s).path("weight_map");
        } catch (IOException e) {
            throw new IOException(ModelCheckpoint.where(in, indexName) + " is not JSON", e);
        }
        if (!map.isObject() || map.isEmpty()) {
            throw new IOException(ModelCheckpoint.where(in, indexName) + " has no weight_map");
        }
        Map<String, TreeSet<String>> byFile = new TreeMap<>();
        map.fields()
                .forEachRemaining(
                        f ->
                                byFile.computeIfAbsent(f.getValue().asText(), k -> new TreeSet<>())
                                        .add(f.getKey()));
        Map<String, NDArray> all = new LinkedHashMap<>();
        Map<String, String> metadata = null;
        try {
            for (Map.Entry<String, TreeSet<String>> f : byFile.entrySet()) {
                String file = f.getKey();
                if (file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                    throw new IOException(
                            ModelCheckpoint.where(in, indexName)
                                    + " names a file outside the folder: "
                                    + file);
                }
                SafeTensors.Contents c;
                try (InputStream s = in.open(file)) {
                    c = SafeTensors.readContents(s, manager);
                } catch (IOException e) {
                    throw new IOException(
                            ModelCheckpoint.where(in, file) + ": " + e.getMessage(), e);
                }
                all.putAll(c.tensors());
                if (!new TreeSet<>(c.tensors().keySet()).equals(f.getValue())) {
                    throw new IOException(
                            ModelCheckpoint.where(in, file)
                                    + " does not hold the tensors "
                                    + indexName
                                    + " maps to it");
                }
                if (metadata == null) {
                    metadata = new TreeMap<>(c.metadata());
                    metadata.remove(SafeTensors.DATA_SHA256);
                }
            }
        } catch (IOException | RuntimeException e) {
            all.values().forEach(NDArray::close);
            throw e;
        }
        return new Contents(metadata, all);
    }
}
