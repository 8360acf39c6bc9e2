package dev.lmspark.data.tokenizer;

import java.util.List;
import java.util.Locale;

/**
 * The tokenizer families lmspark trains, each with fixed special tokens and ids
 * (docs/dataset-format.md, "Special token ids").
 *
 * <ul>
 *   <li>{@link #WORDPIECE}: BERT. {@code [PAD]}=0, {@code [UNK]}=1, {@code [CLS]}=2, {@code
 *       [SEP]}=3, {@code [MASK]}=4.
 *   <li>{@link #BPE}: GPT-2 byte-level BPE. {@code <|endoftext|>}=0, {@code <pad>}=1, {@code
 *       <fim_prefix>}=2, {@code <fim_middle>}=3, {@code <fim_suffix>}=4, {@code <fim_pad>}=5.
 * </ul>
 */
public enum TokenizerType {
    WORDPIECE(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")),
    BPE(
            List.of(
                    "<|endoftext|>",
                    "<pad>",
                    "<fim_prefix>",
                    "<fim_middle>",
                    "<fim_suffix>",
                    "<fim_pad>"));

    private final List<String> specialTokens;

    TokenizerType(List<String> specialTokens) {
        this.specialTokens = specialTokens;
    }

    /** The special tokens in id order: the token at index i has id i. */
    public List<String> specialTokens() {
        return specialTokens;
    }

    /** The name used on the command line and in files: {@code wordpiece} or {@code bpe}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a command-line name.
     *
     * @throws IllegalArgumentException naming the value and the accepted ones
     */
    public static TokenizerType fromCliName(String name) {
        for (TokenizerType type : values()) {
            if (type.cliName().equalsIgnoreCase(name)) {
                return type;
            }
        }
        throw new IllegalArgumentException(
                "unknown tokenizer type '" + name + "'; use wordpiece or bpe");
    }
}
