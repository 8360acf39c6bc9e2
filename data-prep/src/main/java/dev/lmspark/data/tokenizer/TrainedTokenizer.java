package dev.lmspark.data.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained tokenizer and its three standard files, in the layout Hugging Face {@code tokenizers}
 * and {@code transformers} read ({@code tokenizer.json} is what DJL's {@code HuggingFaceTokenizer}
 * loads):
 *
 * <ul>
 *   <li>WordPiece: {@code BertNormalizer} (lowercase and accent stripping as trained), {@code
 *       BertPreTokenizer}, a WordPiece model with {@code ##} continuations and {@code [UNK]}, the
 *       post-processor {@code [CLS] A [SEP]} / {@code [CLS] A [SEP] B [SEP]} with type ids 0 for A
 *       and 1 for B, and the WordPiece decoder;
 *   <li>BPE: GPT-2's byte-level pre-tokenizer, post-processor and decoder (no prefix space, so
 *       decoding gives back the exact input bytes) and a BPE model with its merges.
 * </ul>
 */
public final class TrainedTokenizer {
    /** The WordPiece continuation prefix. */
    public static final String CONTINUING_SUBWORD_PREFIX = "##";

    /** File names written into a tokenizer directory. */
    public static final String TOKENIZER_JSON = "tokenizer.json";

    public static final String TOKENIZER_CONFIG_JSON = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_MAP_JSON = "special_tokens_map.json";

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final TokenizerSpec spec;
    private final List<String> vocab;
    private final List<String[]> merges;
    private final int alphabetSize;

    TrainedTokenizer(
            TokenizerSpec spec, List<String> vocab, List<String[]> merges, int alphabetSize) {
        this.spec = spec;
        this.vocab = vocab;
        this.merges = merges;
        this.alphabetSize = alphabetSize;
    }

    public TokenizerSpec spec() {
        return spec;
    }

    /** The vocabulary in id order. */
    public List<String> vocab() {
        return vocab;
    }

    /** BPE merges in rank order (WordPiece keeps only the vocabulary they produced). */
    public List<String[]> merges() {
        return merges;
    }

    /** Symbols in the starting alphabet (characters, and for WordPiece their ## forms). */
    public int alphabetSize() {
        return alphabetSize;
    }

    /**
     * A WordPiece tokenizer from a BERT {@code vocab.txt} (one token per line, id = line number),
     * as Hugging Face's {@code BertTokenizerFast} builds it.
     *
     * @throws IllegalArgumentException when a BERT special token is missing
     */
    public static TrainedTokenizer fromBertVocab(List<String> vocab, boolean lowercase) {
        for (String special : TokenizerType.WORDPIECE.specialTokens()) {
            if (!vocab.contains(special)) {
                throw new IllegalArgumentException(
                        "the vocab.txt has no " + special + " token; it is not a BERT vocabulary");
            }
        }
        return new TrainedTokenizer(
                new TokenizerSpec(TokenizerType.WORDPIECE, vocab.size(), lowercase, 0),
                List.copyOf(vocab),
                List.of(),
                0);
    }

    private int idOf(String token) {
        int id = vocab.indexOf(token);
        if (id < 0) {
            throw new IllegalStateException(token + " is not in the vocabulary");
        }
        return id;
    }

    /** The three files, by name, as UTF-8 JSON. */
    public Map<String, byte[]> files() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(TOKENIZER_JSON, bytes(tokenizerJson()));
        files.put(TOKENIZER_CONFIG_JSON, bytes(tokenizerConfig()));
        files.put(SPECIAL_TOKENS_MAP_JSON, bytes(specialTokensMap()));
        return files;
    }

    ObjectNode tokenizerJson() {
        ObjectNode root = NODES.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : spec.type().specialTokens()) {
            ObjectNode t = added.addObject();
            t.put("id", idOf(special));
            t.put("content", special);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        ObjectNode vocabNode = NODES.objectNode();
        for (int id = 0; id < vocab.size(); id++) {
            vocabNode.put(vocab.get(id), id);
        }
        switch (spec.type()) {
            case WORDPIECE -> {
                ObjectNode normalizer = root.putObject("normalizer");
                normalizer.put("type", "BertNormalizer");
                normalizer.put("clean_text", true);
                normalizer.put("handle_chinese_chars", true);
                normalizer.putNull("strip_accents");
                normalizer.put("lowercase", spec.lowercase());
                root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
                root.set("post_processor", bertTemplate());
                ObjectNode decoder = root.putObject("decoder");
                decoder.put("type", "WordPiece");
                decoder.put("prefix", CONTINUING_SUBWORD_PREFIX);
                decoder.put("cleanup", true);
                ObjectNode model = root.putObject("model");
                model.put("type", "WordPiece");
                model.put("unk_token", "[UNK]");
                model.put("continuing_subword_prefix", CONTINUING_SUBWORD_PREFIX);
                model.put("max_input_chars_per_word", 100);
                model.set("vocab", vocabNode);
            }
            case BPE -> {
                root.putNull("normalizer");
                root.set("pre_tokenizer", byteLevel("ByteLevel", false, true));
                root.set("post_processor", byteLevel("ByteLevel", true, false));
                root.set("decoder", byteLevel("ByteLevel", true, true));
                ObjectNode model = root.putObject("model");
                model.put("type", "BPE");
                model.putNull("dropout");
                model.putNull("unk_token");
                model.put("continuing_subword_prefix", "");
                model.put("end_of_word_suffix", "");
                model.put("fuse_unk", false);
                model.put("byte_fallback", false);
                model.set("vocab", vocabNode);
                ArrayNode mergesNode = model.putArray("merges");
                for (String[] merge : merges) {
                    mergesNode.add(merge[0] + " " + merge[1]);
                }
            }
        }
        return root;
    }

    private static ObjectNode byteLevel(String type, boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode node = NODES.objectNode();
        node.put("type", type);
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", true);
        return node;
    }

    private ObjectNode bertTemplate() {
        ObjectNode post = NODES.objectNode();
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.add(special("[CLS]", 0));
        single.add(sequence("A", 0));
        single.add(special("[SEP]", 0));
        ArrayNode pair = post.putArray("pair");
        pair.add(special("[CLS]", 0));
        pair.add(sequence("A", 0));
        pair.add(special("[SEP]", 0));
        pair.add(sequence("B", 1));
        pair.add(special("[SEP]", 1));
        ObjectNode tokens = post.putObject("special_tokens");
        for (String name : List.of("[CLS]", "[SEP]")) {
            ObjectNode t = tokens.putObject(name);
            t.put("id", name);
            t.putArray("ids").add(idOf(name));
            t.putArray("tokens").add(name);
        }
        return post;
    }

    private static ObjectNode special(String id, int typeId) {
        ObjectNode node = NODES.objectNode();
        ObjectNode inner = node.putObject("SpecialToken");
        inner.put("id", id);
        inner.put("type_id", typeId);
        return node;
    }

    private static ObjectNode sequence(String id, int typeId) {
        ObjectNode node = NODES.objectNode();
        ObjectNode inner = node.putObject("Sequence");
        inner.put("id", id);
        inner.put("type_id", typeId);
        return node;
    }

    ObjectNode specialTokensMap() {
        ObjectNode map = NODES.objectNode();
        switch (spec.type()) {
            case WORDPIECE -> {
                map.put("unk_token", "[UNK]");
                map.put("sep_token", "[SEP]");
                map.put("pad_token", "[PAD]");
                map.put("cls_token", "[CLS]");
                map.put("mask_token", "[MASK]");
            }
            case BPE -> {
                map.put("bos_token", "<|endoftext|>");
                map.put("eos_token", "<|endoftext|>");
                map.put("unk_token", "<|endoftext|>");
                map.put("pad_token", "<pad>");
                ArrayNode extra = map.putArray("additional_special_tokens");
                for (String t :
                        List.of("<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>")) {
                    extra.add(t);
                }
            }
        }
        return map;
    }

    ObjectNode tokenizerConfig() {
        ObjectNode config = specialTokensMap();
        ObjectNode decoder = NODES.objectNode();
        for (String special : spec.type().specialTokens()) {
            ObjectNode t = decoder.putObject(Integer.toString(idOf(special)));
            t.put("content", special);
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", true);
        }
        config.set("added_tokens_decoder", decoder);
        switch (spec.type()) {
            case WORDPIECE -> {
                config.put("tokenizer_class", "BertTokenizer");
                config.put("do_lower_case", spec.lowercase());
                config.putNull("strip_accents");
                config.put("tokenize_chinese_chars", true);
                config.put("clean_up_tokenization_spaces", true);
            }
            case BPE -> {
                config.put("tokenizer_class", "GPT2Tokenizer");
                config.put("add_prefix_space", false);
                config.put("clean_up_tokenization_spaces", false);
            }
        }
        return config;
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return (JSON.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write tokenizer JSON", e);
        }
    }
}
