package dev.lmspark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.spark.InputFiles;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/** The {@code manifest.json} a {@code prepare} run writes last (docs/dataset-format.md). */
final class PrepareManifest {
    private PrepareManifest() {}

    static ObjectNode manifest(
            PrepareConfig c,
            TokenizerSource tokenizer,
            List<InputFiles.File> files,
            long firstDoc,
            long read,
            long kept,
            long dropped,
            long tooShort,
            long replacements,
            long longDocs,
            Map<String, Long> docsPerSplit,
            Map<String, DatasetStats> stats,
            List<Map<String, Object>> shards,
            Map<String, Long> examples,
            Map<String, Long> tokens,
            JsonNode previous,
            Configuration hadoop,
            SparkSession spark) {
        LmTokenizer tok = tokenizer.tokenizer();
        boolean mlm = c.objective() != PrepareConfig.Objective.CLM;
        ObjectNode m = PrepareJob.JSON.createObjectNode();
        m.put("format_version", PreparedDataset.FORMAT_VERSION);
        m.put("objective", c.objective().cliName());
        m.put("max_length", c.maxLength());
        ObjectNode padding = m.putObject("padding_side");
        for (String split : examples.keySet()) {
            padding.put(split, split.equals("predict") ? "left" : c.paddingSide().cliName());
        }
        m.put("seed", c.seed());
        ObjectNode numExamples = m.putObject("num_examples");
        ObjectNode numTokens = m.putObject("num_tokens");
        ArrayNode shardArray = m.putArray("shards");
        if (previous != null) {
            previous.path("num_examples")
                    .fields()
                    .forEachRemaining(e -> numExamples.put(e.getKey(), e.getValue().asLong()));
            previous.path("num_tokens")
                    .fields()
                    .forEachRemaining(e -> numTokens.put(e.getKey(), e.getValue().asLong()));
            previous.path("shards").forEach(shardArray::add);
        }
        examples.forEach((k, v) -> numExamples.put(k, numExamples.path(k).asLong(0) + v));
        tokens.forEach((k, v) -> numTokens.put(k, numTokens.path(k).asLong(0) + v));
        shards.forEach(s -> shardArray.add(PrepareJob.JSON.valueToTree(s)));
        m.set("config", PrepareJob.JSON.valueToTree(c.describe()));
        ObjectNode t = m.putObject("tokenizer");
        t.put("sha256", tokenizer.sha256());
        t.put("type", tok.modelType());
        t.put("vocab_size", tok.vocabSize());
        t.set("special_token_ids", PrepareJob.JSON.valueToTree(tok.specials().byName()));

        ObjectNode st = PrepareJob.JSON.createObjectNode();
        st.put("documents_read", read);
        st.put("documents_kept", kept);
        st.put("documents_dropped", dropped);
        st.put("documents_dropped_min_chars", tooShort);
        st.put("documents_dropped_duplicates", dropped - tooShort);
        st.put("documents_longer_than_window", longDocs);
        st.put(
                "long_documents",
                c.objective() == PrepareConfig.Objective.MLM && c.nsp() ? "truncated" : "split");
        st.put("invalid_utf8_replacements", replacements);
        st.set("documents_per_split", PrepareJob.JSON.valueToTree(docsPerSplit));
        ObjectNode perSplit = st.putObject("splits");
        stats.forEach(
                (split, s) ->
                        perSplit.set(
                                split,
                                PrepareJob.JSON.valueToTree(
                                        s.describe(
                                                mlm && !split.equals("predict"),
                                                c.nsp(),
                                                c.objective() == PrepareConfig.Objective.CLM
                                                        && c.fimRate() > 0))));

        ObjectNode p = Provenance.of(spark.version());
        ArrayNode inputFiles = PrepareJob.JSON.createArrayNode();
        for (Map.Entry<String, String> e : IncrementalPrep.fileHashes(spark, files).entrySet()) {
            InputFiles.File f =
                    files.stream()
                            .filter(x -> x.path().equals(e.getKey()))
                            .findFirst()
                            .orElseThrow();
            ObjectNode o = inputFiles.addObject();
            o.put("path", f.path());
            o.put("bytes", f.size());
            o.put("modification_time", f.modificationTime());
            o.put("sha256", e.getValue());
        }

        ArrayNode increments = m.putArray("increments");
        if (previous != null) {
            previous.path("increments").forEach(increments::add);
        }
        ObjectNode inc = increments.addObject();
        inc.put("index", increments.size() - 1);
        inc.set("files", inputFiles);
        inc.put("first_doc_id", firstDoc);
        inc.put("next_doc_id", firstDoc + read);
        inc.set("num_examples", PrepareJob.JSON.valueToTree(examples));
        inc.set("statistics", st);
        if (previous == null) {
            m.set("statistics", st);
        } else {
            m.set("statistics", previous.path("statistics"));
        }
        m.set("provenance", p);
        return m;
    }
}
