package dev.lmspark.data.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.random.Seeds;
import java.nio.charset.StandardCharsets;
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
        CODE;

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
                    "unknown corpus kind '" + name + "'; use prose or code");
        }
    }

    private final Kind kind;
    private final long seed;

    public SampleCorpus(Kind kind, long seed) {
        this.kind = kind;
        this.seed = seed;
    }

    /** Document {@code index}. */
    public String document(long index) {
        var r = Seeds.random(seed, kind.ordinal(), index);
        return kind == Kind.PROSE ? ProseGenerator.document(r) : CodeGenerator.document(r);
    }

    /** Document {@code index} as one JSONL line {@code {"text": …}} with its newline, in UTF-8. */
    public byte[] jsonLine(long index) {
        try {
            return (JSON.writeValueAsString(Map.of("text", document(index))) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
