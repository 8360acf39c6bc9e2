package dev.lmspark.generate;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.Examples;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * The rows {@code generate --data} predicts: the prediction split of an {@code mlm-seq2seq}
 * dataset, checked against the checkpoint's tokenizer and read by example_id with {@link
 * ExampleReader}.
 */
final class PredictionRows {
    private PredictionRows() {}

    /** One prediction row of an mlm-seq2seq split. */
    record PredictRow(long exampleId, int[] inputIds, int[] attentionMask, int[] targetIds) {}

    /**
     * The prepared dataset {@code --data}, checked to be an mlm-seq2seq dataset whose {@code
     * --split} holds prediction rows tokenized with the model's tokenizer.
     */
    static PreparedDataset dataset(
            GenerateJob.Config c, byte[] tokenizerJson, Configuration hadoop) {
        PreparedDataset d = PreparedDataset.open(c.data(), hadoop);
        if (!d.objective().equals(GenerateJob.SEQ2SEQ)) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " is a "
                            + d.objective()
                            + " dataset; generate predicts the rows of one prepared with"
                            + " --objective "
                            + GenerateJob.SEQ2SEQ);
        }
        if (!d.hasSplit(c.split())) {
            throw new BadInputException(
                    "--split "
                            + c.split()
                            + " is not in --data "
                            + c.data()
                            + "; it has "
                            + String.join(", ", d.splits())
                            + " (use predict)");
        }
        if (!d.paddingSide(c.split()).equals("left") || !d.hasTargetIds(c.split())) {
            throw new BadInputException(
                    "--split "
                            + c.split()
                            + " of --data "
                            + c.data()
                            + " holds training rows, not prediction rows (a left-padded prefix"
                            + " and target_ids); use --split predict");
        }
        if (!d.tokenizerSha256().equals(TokenizerSource.sha256(tokenizerJson))) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " was tokenized with another tokenizer than the model's (its"
                            + " tokenizer/tokenizer.json differs); prepare the data with the"
                            + " tokenizer the model was trained with");
        }
        return d;
    }

    /** The first {@code limit} rows of the {@code --split}, by {@code example_id}. */
    static List<PredictRow> readRows(
            GenerateJob.Config c, PreparedDataset dataset, Configuration hadoop) {
        long n = dataset.numExamples(c.split());
        long to = c.limit() != null ? Math.min(n, c.limit()) : n;
        List<PredictRow> out = new ArrayList<>();
        try (ExampleReader reader = new ExampleReader(dataset, c.split(), hadoop, 1)) {
            Examples rows = reader.read(0, to);
            int t = rows.length();
            for (int r = 0; r < rows.rows(); r++) {
                byte[] mask = Examples.row(rows.attentionMask(), r, t);
                int[] attention = new int[t];
                for (int i = 0; i < t; i++) {
                    attention[i] = mask[i];
                }
                out.add(
                        new PredictRow(
                                rows.exampleId()[r],
                                Examples.row(rows.inputIds(), r, t),
                                attention,
                                Examples.row(rows.targetIds(), r, t)));
            }
        } catch (IOException e) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + ": cannot read its "
                            + c.split()
                            + " rows: "
                            + e.getMessage(),
                    e);
        }
        return out;
    }
}
