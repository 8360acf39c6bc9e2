package dev.lmspark.jobs;

import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.ml.Sequences;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * Measured statistics of one split's examples, summed over rows (so they are exact and independent
 * of partitioning): tokens, padding, masking outcome, NSP balance, FIM use.
 */
final class DatasetStats implements Serializable {
    private static final long serialVersionUID = 1L;

    long examples;
    long tokens;
    long positions;
    long candidates;
    long predicted;
    long masked;
    long randomized;
    long unchanged;
    long nspRandom;
    long nspExamples;
    long fimExamples;
    long fimSegments;
    long eosTokens;
    long fimPadTokens;

    /** Adds one example row of {@link dev.lmspark.spark.ml.Examples#schema}. */
    void add(Row r, Integer maskId, Integer fimPrefix, Integer fimPad, Integer eos) {
        examples++;
        int[] ids = Sequences.ints(r, r.fieldIndex(DatasetColumns.INPUT_IDS));
        byte[] attention = Sequences.bytes(r, r.fieldIndex(DatasetColumns.ATTENTION_MASK));
        int[] labels = Sequences.ints(r, r.fieldIndex(DatasetColumns.LABELS));
        byte[] special = Sequences.bytes(r, r.fieldIndex(DatasetColumns.SPECIAL_TOKENS_MASK));
        boolean fim = false;
        positions += ids.length;
        for (int i = 0; i < ids.length; i++) {
            if (attention[i] == 0) {
                continue;
            }
            tokens++;
            int id = ids[i];
            if (special[i] == 0) {
                candidates++;
            }
            if (fimPrefix != null && id == fimPrefix) {
                fim = true;
                fimSegments++;
            }
            if (eos != null && id == eos) {
                eosTokens++;
            }
            if (fimPad != null && id == fimPad) {
                fimPadTokens++;
            }
            if (maskId != null && labels[i] != -100) {
                predicted++;
                if (id == maskId) {
                    masked++;
                } else if (id == labels[i]) {
                    unchanged++;
                } else {
                    randomized++;
                }
            }
        }
        if (fim) {
            fimExamples++;
        }
        int nspAt = indexOf(r, DatasetColumns.NEXT_SENTENCE_LABEL);
        if (nspAt >= 0) {
            nspExamples++;
            nspRandom += r.getByte(nspAt);
        }
    }

    private static int indexOf(Row r, String name) {
        return List.of(r.schema().fieldNames()).indexOf(name);
    }

    DatasetStats merge(DatasetStats o) {
        examples += o.examples;
        tokens += o.tokens;
        positions += o.positions;
        candidates += o.candidates;
        predicted += o.predicted;
        masked += o.masked;
        randomized += o.randomized;
        unchanged += o.unchanged;
        nspRandom += o.nspRandom;
        nspExamples += o.nspExamples;
        fimExamples += o.fimExamples;
        fimSegments += o.fimSegments;
        eosTokens += o.eosTokens;
        fimPadTokens += o.fimPadTokens;
        return this;
    }

    private static double ratio(long a, long b) {
        return b == 0 ? 0 : (double) a / b;
    }

    /** The split's statistics as the manifest records them. */
    Map<String, Object> describe(boolean mlm, boolean nsp, boolean fim) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("examples", examples);
        m.put("tokens", tokens);
        m.put("padding_fraction", ratio(positions - tokens, positions));
        if (mlm) {
            m.put("predicted_tokens", predicted);
            m.put("mask_rate", ratio(predicted, candidates));
            m.put("mask_token_share", ratio(masked, predicted));
            m.put("random_token_share", ratio(randomized, predicted));
            m.put("unchanged_token_share", ratio(unchanged, predicted));
        }
        if (nsp) {
            m.put("nsp_random_fraction", ratio(nspRandom, nspExamples));
        }
        if (fim) {
            m.put("fim_examples", fimExamples);
            m.put("fim_segments", fimSegments);
            // Every document (or packed segment) ends with EOS: the share of them rearranged.
            m.put("fim_rate", ratio(fimSegments, eosTokens));
            m.put("fim_pad_tokens", fimPadTokens);
        }
        return m;
    }
}
