package dev.lmspark.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.DatasetColumns;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.Examples;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code inspect}: the first rows of a split, in {@code example_id} order (read with {@link
 * ExampleReader}, straight from the first shard's first row group), decoded for a person — the text
 * as the model sees it, then one line per real token: the token, its id, the label to predict,
 * segment id, special and word-start flags.
 */
public final class InspectJob {
    private InspectJob() {}

    /**
     * Prints the first {@code rows} rows of {@code split}: decoded for a person, or with {@code
     * jsonl} one JSON object per row holding every column ({@code example_id}, {@code doc_id} and
     * the arrays, as the shards store them).
     */
    public static void run(
            Configuration conf,
            String data,
            String split,
            int rows,
            boolean jsonl,
            PrintWriter out) {
        PreparedDataset dataset = PreparedDataset.open(data, conf);
        if (!dataset.hasSplit(split)) {
            throw new BadInputException(
                    "--split "
                            + split
                            + " is not in "
                            + data
                            + "; it has "
                            + String.join(", ", dataset.splits()));
        }
        LmTokenizer tok = TokenizerSource.read(dataset.tokenizerPath(), false, conf).tokenizer();
        Examples picked;
        try (ExampleReader reader = new ExampleReader(dataset, split, conf, 1)) {
            picked = reader.read(0, Math.min(rows, reader.numExamples()));
        } catch (IOException e) {
            // A missing or damaged shard is the user's to restore.
            throw new BadInputException(e.getMessage(), e);
        }
        if (jsonl) {
            printJson(picked, out);
            return;
        }
        int length = picked.length();
        for (int row = 0; row < picked.rows(); row++) {
            int[] ids = Examples.row(picked.inputIds(), row, length);
            int[] labels = Examples.row(picked.labels(), row, length);
            byte[] attention = Examples.row(picked.attentionMask(), row, length);
            byte[] types = Examples.row(picked.tokenTypeIds(), row, length);
            byte[] special = Examples.row(picked.specialTokensMask(), row, length);
            byte[] words =
                    picked.wordStart() == null
                            ? null
                            : Examples.row(picked.wordStart(), row, length);
            StringBuilder head = new StringBuilder();
            head.append(split)
                    .append(" example ")
                    .append(picked.exampleId()[row])
                    .append(" (doc ")
                    .append(picked.docId()[row]);
            if (picked.nextSentenceLabel() != null) {
                byte nsp = picked.nextSentenceLabel()[row];
                head.append(", next_sentence_label ")
                        .append(nsp)
                        .append(nsp == 0 ? ": B follows A" : ": B is random");
            }
            int real = 0;
            for (byte a : attention) {
                real += a;
            }
            head.append(", ")
                    .append(real)
                    .append(" tokens + ")
                    .append(ids.length - real)
                    .append(" padding)");
            out.println(head);
            int[] realIds = new int[real];
            int k = 0;
            for (int i = 0; i < ids.length; i++) {
                if (attention[i] == 1) {
                    realIds[k++] = ids[i];
                }
            }
            out.println("  text: " + tok.decode(realIds, false).replace("\n", "\\n"));
            if (picked.targetIds() != null) {
                int[] target =
                        Arrays.stream(Examples.row(picked.targetIds(), row, length))
                                .filter(id -> id != tok.specials().padOrEos())
                                .toArray();
                out.println("  target: " + tok.decode(target, false).replace("\n", "\\n"));
            }
            out.printf(
                    "  %4s  %-16s %6s  %-16s %4s %4s %4s%n",
                    "pos", "token", "id", "label", "type", "spec", "word");
            for (int i = 0; i < ids.length; i++) {
                if (attention[i] == 0) {
                    continue;
                }
                String label =
                        labels[i] == PreparedDataset.IGNORE_LABEL
                                ? "-"
                                : tok.tokens(new int[] {labels[i]})[0] + " (" + labels[i] + ")";
                out.printf(
                        "  %4d  %-16s %6d  %-16s %4d %4d %4s%n",
                        i,
                        show(tok.tokens(new int[] {ids[i]})[0]),
                        ids[i],
                        label,
                        types[i],
                        special[i],
                        words == null ? "" : Byte.toString(words[i]));
            }
            out.println();
        }
    }

    private static String show(String token) {
        return token.replace("\n", "\\n").replace("\t", "\\t");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static void printJson(Examples rows, PrintWriter out) {
        int t = rows.length();
        for (int r = 0; r < rows.rows(); r++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put(DatasetColumns.EXAMPLE_ID, rows.exampleId()[r]);
            row.put(DatasetColumns.DOC_ID, rows.docId()[r]);
            row.put(DatasetColumns.INPUT_IDS, Examples.row(rows.inputIds(), r, t));
            row.put(DatasetColumns.ATTENTION_MASK, ints(Examples.row(rows.attentionMask(), r, t)));
            row.put(DatasetColumns.TOKEN_TYPE_IDS, ints(Examples.row(rows.tokenTypeIds(), r, t)));
            row.put(DatasetColumns.LABELS, Examples.row(rows.labels(), r, t));
            row.put(
                    DatasetColumns.SPECIAL_TOKENS_MASK,
                    ints(Examples.row(rows.specialTokensMask(), r, t)));
            if (rows.wordStart() != null) {
                row.put(DatasetColumns.WORD_START, ints(Examples.row(rows.wordStart(), r, t)));
            }
            if (rows.nextSentenceLabel() != null) {
                row.put(DatasetColumns.NEXT_SENTENCE_LABEL, (int) rows.nextSentenceLabel()[r]);
            }
            if (rows.targetIds() != null) {
                row.put(DatasetColumns.TARGET_IDS, Examples.row(rows.targetIds(), r, t));
            }
            try {
                out.println(JSON.writeValueAsString(row));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static int[] ints(byte[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
