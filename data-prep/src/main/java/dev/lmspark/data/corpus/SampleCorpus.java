package dev.lmspark.data.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.collate.SentenceSplitter;
import dev.lmspark.data.random.Seeds;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The built-in sample corpus. Document {@code i} of a kind is a pure function of (seed, kind, i),
 * so any slice of the corpus can be regenerated independently and the same seed always gives the
 * same documents.
 */
public final class SampleCorpus {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The two kinds of generated documents. */
    public enum Kind {
        /** Topical multi-paragraph prose (MLM, NSP). */
        PROSE,
        /** Small Python-like modules (CLM, FIM). */
        CODE,
        /**
         * Prefix/target pairs for seq2seq (masked diffusion): the first sentence of a prose
         * document as the prefix, the sentence after it as the target.
         */
        SEQ2SEQ;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses {@code prose} or {@code code}, naming the bad value otherwise. */
        public static Kind fromCliName(String name) {
            for (Kind kind : values()) {
                if (kind.cliName().equalsIgnoreCase(name)) {
                    return kind;
                }
            }
            throw new IllegalArgumentException(
                    "unknown corpus kind '" + name + "'; use prose, code or seq2seq");
        }
    }

    private final Kind kind;
    private final long seed;

    public SampleCorpus(Kind kind, long seed) {
        this.kind = kind;
        this.seed = seed;
    }

    /** Document {@code index} (for seq2seq: prefix and target separated by a newline). */
    public String document(long index) {
        var r = Seeds.random(seed, kind.ordinal(), index);
        return switch (kind) {
            case PROSE -> ProseGenerator.document(r);
            case CODE -> CodeGenerator.document(r);
            case SEQ2SEQ -> {
                List<String> s = SentenceSplitter.split(ProseGenerator.document(r));
                yield s.get(0) + "\n" + s.get(1);
            }
        };
    }

    /** Document {@code index} as one JSONL line {@code {"text": …}} with its newline, in UTF-8. */
    public byte[] jsonLine(long index) {
        try {
            Map<String, String> record = new LinkedHashMap<>();
            String doc = document(index);
            if (kind == Kind.SEQ2SEQ) {
                int cut = doc.indexOf('\n');
                record.put("prefix", doc.substring(0, cut));
                record.put("target", doc.substring(cut + 1));
            } else {
                record.put("text", doc);
            }
            return (JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
