package dev.lmspark.data.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ids of the special tokens collation needs, read from a {@code tokenizer.json}; null where the
 * tokenizer has no such token. Names follow Hugging Face: {@code [PAD] [UNK] [CLS] [SEP] [MASK]}
 * for BERT vocabularies; {@code <pad> <|endoftext|> <fim_prefix> <fim_middle> <fim_suffix>
 * <fim_pad>} for GPT-style ones, where {@code <|endoftext|>} is both BOS and EOS.
 */
public record SpecialTokenIds(
        Integer pad,
        Integer unk,
        Integer cls,
        Integer sep,
        Integer mask,
        Integer bos,
        Integer eos,
        Integer fimPrefix,
        Integer fimMiddle,
        Integer fimSuffix,
        Integer fimPad)
        implements Serializable {

    /** Finds the special tokens among a tokenizer's added tokens and vocabulary. */
    public static SpecialTokenIds of(JsonNode tokenizerJson) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        JsonNode vocab = tokenizerJson.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
        }
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            ids.put(added.path("content").asText(), added.path("id").asInt());
        }
        Integer eos = ids.get("<|endoftext|>");
        Integer sep = ids.get("[SEP]");
        return new SpecialTokenIds(
                ids.containsKey("[PAD]") ? ids.get("[PAD]") : ids.get("<pad>"),
                ids.containsKey("[UNK]") ? ids.get("[UNK]") : ids.get("<unk>"),
                ids.get("[CLS]"),
                sep,
                ids.get("[MASK]"),
                eos,
                eos != null ? eos : sep,
                ids.get("<fim_prefix>"),
                ids.get("<fim_middle>"),
                ids.get("<fim_suffix>"),
                ids.get("<fim_pad>"));
    }

    /** Whether the four FIM sentinels exist. */
    public boolean hasFim() {
        return fimPrefix != null && fimMiddle != null && fimSuffix != null && fimPad != null;
    }

    /** The pad id, else EOS (GPT-2 has no pad token); labels never depend on it. */
    public int padOrEos() {
        if (pad != null) {
            return pad;
        }
        if (eos != null) {
            return eos;
        }
        throw new IllegalStateException("the tokenizer has neither a pad nor an EOS token");
    }

    /** The ids by manifest name ({@code pad}, {@code unk}, … {@code fim_pad}), nulls kept. */
    public Map<String, Integer> byName() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("pad", pad);
        m.put("unk", unk);
        m.put("cls", cls);
        m.put("sep", sep);
        m.put("mask", mask);
        m.put("bos", bos);
        m.put("eos", eos);
        m.put("fim_prefix", fimPrefix);
        m.put("fim_middle", fimMiddle);
        m.put("fim_suffix", fimSuffix);
        m.put("fim_pad", fimPad);
        return m;
    }
}
