package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.TokenizerSource;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code inspect}: the first rows of a split, in {@code example_id} order, decoded for a person —
 * the text as the model sees it, then one line per real token: the token, its id, the label to
 * predict, segment id, special and word-start flags.
 */
public final class InspectJob {
    private InspectJob() {}

    public static void run(
            SparkSession spark, String data, String split, int rows, PrintWriter out) {
        var conf = spark.sparkContext().hadoopConfiguration();
        Path root = new Path(data);
        FileSystem fs = HadoopPaths.fileSystem(root, conf);
        JsonNode manifest = PrepareJob.readManifest(fs, new Path(root, PrepareJob.MANIFEST));
        if (!manifest.path("num_examples").has(split)) {
            throw new BadInputException(
                    "--split "
                            + split
                            + " is not in "
                            + data
                            + "; it has "
                            + String.join(
                                    ", ", iterable(manifest.path("num_examples").fieldNames())));
        }
        LmTokenizer tok =
                TokenizerSource.read(new Path(root, "tokenizer").toString(), false, conf)
                        .tokenizer();
        List<Row> picked =
                spark.read()
                        .parquet(new Path(root, split).toString())
                        .orderBy("example_id")
                        .limit(rows)
                        .collectAsList();
        for (Row r : picked) {
            int[] ids = ints(r, "input_ids");
            int[] labels = ints(r, "labels");
            byte[] attention = bytes(r, "attention_mask");
            byte[] types = bytes(r, "token_type_ids");
            byte[] special = bytes(r, "special_tokens_mask");
            byte[] words = has(r, "word_start") ? bytes(r, "word_start") : null;
            StringBuilder head = new StringBuilder();
            head.append(split)
                    .append(" example ")
                    .append(r.getLong(r.fieldIndex("example_id")))
                    .append(" (doc ")
                    .append(r.getLong(r.fieldIndex("doc_id")));
            if (has(r, "next_sentence_label")) {
                head.append(", next_sentence_label ")
                        .append(r.getByte(r.fieldIndex("next_sentence_label")))
                        .append(
                                r.getByte(r.fieldIndex("next_sentence_label")) == 0
                                        ? ": B follows A"
                                        : ": B is random");
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
            if (has(r, "target_ids")) {
                int[] target =
                        Arrays.stream(ints(r, "target_ids"))
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
                        labels[i] == -100
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

    private static boolean has(Row r, String column) {
        return Arrays.asList(r.schema().fieldNames()).contains(column);
    }

    private static int[] ints(Row r, String column) {
        List<Integer> l = r.getList(r.fieldIndex(column));
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    private static byte[] bytes(Row r, String column) {
        List<Byte> l = r.getList(r.fieldIndex(column));
        byte[] out = new byte[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = l.get(i);
        }
        return out;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
