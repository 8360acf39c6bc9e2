package dev.lmspark.jobs;

import dev.lmspark.spark.ml.FimStage;
import dev.lmspark.spark.ml.MaskStage;
import dev.lmspark.spark.ml.NspPairingStage;
import dev.lmspark.spark.ml.PackStage;
import dev.lmspark.spark.ml.PadStage;
import dev.lmspark.spark.ml.Seq2SeqStage;
import dev.lmspark.spark.ml.TokenizeStage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

/**
 * The Spark ML stages of {@code prepare} for a config, in order: a tokenizing stage (or
 * document-level FIM), pairing or packing, then masking or context-level FIM, then padding;
 * mlm-seq2seq is one stage.
 */
public final class PreparePipeline {
    private PreparePipeline() {}

    /**
     * The collation stages for {@code config}, reading the tokenizer at {@code tokenizerPath}. In
     * order: a tokenizing stage (or document-level FIM), pairing or packing, then masking or
     * context-level FIM, then padding; mlm-seq2seq is one stage.
     */
    public static List<PipelineStage> stages(PrepareConfig c, String tokenizerPath) {
        List<PipelineStage> stages = new ArrayList<>();
        switch (c.objective()) {
            case MLM -> {
                stages.add(
                        new TokenizeStage()
                                .setTokenizer(tokenizerPath)
                                .setSentences(true)
                                .setOutputCol("sentences"));
                if (c.nsp()) {
                    stages.add(
                            new NspPairingStage()
                                    .setTokenizer(tokenizerPath)
                                    .setMaxLength(c.maxLength())
                                    .setShortSeqProb(c.shortSeqProb())
                                    .setSeed(c.seed()));
                } else {
                    stages.add(
                            new PackStage()
                                    .setTokenizer(tokenizerPath)
                                    .setInputCol("sentences")
                                    .setMode("sentences")
                                    .setMaxLength(c.maxLength()));
                }
                stages.add(
                        new MaskStage()
                                .setTokenizer(tokenizerPath)
                                .setConfig(c.masking())
                                .setSeed(c.seed()));
                stages.add(
                        new PadStage()
                                .setTokenizer(tokenizerPath)
                                .setMaxLength(c.maxLength())
                                .setPaddingSide(c.paddingSide().cliName())
                                .setNsp(c.nsp()));
            }
            case CLM -> {
                boolean documentFim =
                        c.fimRate() > 0 && c.fimLevel() == PrepareConfig.FimLevel.DOCUMENT;
                stages.add(
                        documentFim
                                ? new FimStage()
                                        .setTokenizer(tokenizerPath)
                                        .setLevel("document")
                                        .setRate(c.fimRate())
                                        .setSpmRate(c.fimSpmRate())
                                        .setSeed(c.seed())
                                : new TokenizeStage().setTokenizer(tokenizerPath));
                stages.add(
                        new PackStage()
                                .setTokenizer(tokenizerPath)
                                .setMode(c.pack() ? "causal" : "documents")
                                .setMaxLength(c.maxLength()));
                if (c.fimRate() > 0 && c.fimLevel() == PrepareConfig.FimLevel.CONTEXT) {
                    stages.add(
                            new FimStage()
                                    .setTokenizer(tokenizerPath)
                                    .setLevel("context")
                                    .setRate(c.fimRate())
                                    .setSpmRate(c.fimSpmRate())
                                    .setSeed(c.seed()));
                }
                stages.add(
                        new PadStage()
                                .setTokenizer(tokenizerPath)
                                .setMaxLength(c.maxLength())
                                .setPaddingSide(c.paddingSide().cliName())
                                .setCausal(true));
            }
            case MLM_SEQ2SEQ ->
                    stages.add(
                            new Seq2SeqStage()
                                    .setTokenizer(tokenizerPath)
                                    .setMaxLength(c.maxLength())
                                    .setSeed(c.seed()));
        }
        return stages;
    }

    /** The stages as one Spark ML pipeline. */
    public static Pipeline pipeline(PrepareConfig c, String tokenizerPath) {
        return new Pipeline().setStages(stages(c, tokenizerPath).toArray(PipelineStage[]::new));
    }

    /** What each of {@link #stages} does, for the timing breakdown. */
    static List<String> stageNames(PrepareConfig c) {
        return switch (c.objective()) {
            case MLM -> List.of("tokenize", "pair/pack", "mask/fim", "pad");
            case CLM ->
                    c.fimRate() > 0 && c.fimLevel() == PrepareConfig.FimLevel.CONTEXT
                            ? List.of("tokenize", "pair/pack", "mask/fim", "pad")
                            : List.of("tokenize", "pair/pack", "pad");
            case MLM_SEQ2SEQ -> List.of("tokenize");
        };
    }

    /**
     * The examples (persisted) and the tokenized documents (the first stage's output, persisted,
     * reused for statistics).
     */
    record Collated(Dataset<Row> examples, Dataset<Row> tokenized) {}

    /**
     * Runs {@code docs} through the stages, caching the first stage's output and the last's (and
     * with {@code --stage-timing} every stage's, to time each one into {@code stageSeconds}).
     */
    static Collated collate(
            PrepareConfig c,
            String tokenizerPath,
            Dataset<Row> docs,
            Map<String, Double> stageSeconds) {
        long t = System.nanoTime();
        List<PipelineStage> stages = PreparePipeline.stages(c, tokenizerPath);
        Dataset<Row> data = docs;
        List<String> names = PreparePipeline.stageNames(c);
        Dataset<Row> tokenized = null;
        // The tokenized documents (reused for statistics) and the examples (reused by every
        // split's write) are cached; --stage-timing caches every stage, to time each one.
        for (int i = 0; i < stages.size(); i++) {
            boolean last = i == stages.size() - 1;
            Dataset<Row> next = ((Transformer) stages.get(i)).transform(data);
            if (i == 0 || last || c.stageTiming()) {
                next = next.persist(StorageLevel.MEMORY_AND_DISK());
                next.count();
                stageSeconds.merge(
                        c.stageTiming() || i == 0 ? names.get(i) : "collate",
                        PrepareJob.seconds(t),
                        Double::sum);
                t = System.nanoTime();
            }
            if (i == 0) {
                tokenized = next;
            } else if (data != docs && data != tokenized) {
                data.unpersist();
            }
            data = next;
        }
        return new Collated(data, tokenized);
    }
}
