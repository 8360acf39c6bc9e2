package dev.lmspark.train;

import dev.lmspark.data.collate.Masker;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.Examples;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The rows a worker trains on in one round, read from the shards by {@code example_id} range and,
 * with {@code --dynamic-masking}, re-masked for their epoch: the original tokens are recovered from
 * the labels (MLM rows hold the original id as the label wherever they were masked), and the
 * data-prep {@link Masker} masks them again from (seed, epoch, example_id), protecting special
 * tokens and padding and honouring word starts. Rows of epoch 0 keep the masking {@code prepare}
 * gave them, so a one-epoch run is the same with or without the flag.
 */
final class RoundRows {
    static final long REMASK_STREAM = 0x72656d61736b0001L;

    private RoundRows() {}

    /** The round's rows, in training order, as one batch of S rows. */
    static ShardBatch read(
            ExampleReader reader,
            List<DataSchedule.Segment> segments,
            PreparedDataset dataset,
            boolean dynamicMasking,
            long seed)
            throws IOException {
        List<ShardBatch> parts = new ArrayList<>();
        Masker masker = dynamicMasking ? masker(dataset) : null;
        for (DataSchedule.Segment s : segments) {
            Examples rows = reader.read(s.fromId(), s.toId());
            if (masker != null && s.epoch() > 0) {
                remask(rows, masker, seed, s.epoch());
            }
            parts.add(toBatch(rows));
        }
        return ShardBatch.concat(parts);
    }

    /** The model-facing columns of {@code rows}. */
    static ShardBatch toBatch(Examples rows) {
        return new ShardBatch(
                rows.rows(),
                rows.length(),
                rows.inputIds(),
                rows.attentionMask(),
                rows.tokenTypeIds(),
                rows.labels(),
                rows.nextSentenceLabel());
    }

    static Masker masker(PreparedDataset dataset) {
        SpecialTokenIds s = dataset.specialTokenIds();
        BitSet special = new BitSet();
        s.byName().values().stream().filter(id -> id != null).forEach(special::set);
        return new Masker(dataset.masking(), s.mask(), dataset.vocabSize(), special);
    }

    /** Re-masks every row of {@code rows} in place from (seed, epoch, example_id). */
    static void remask(Examples rows, Masker masker, long seed, long epoch) {
        int t = rows.length();
        int[] ids = rows.inputIds();
        int[] labels = rows.labels();
        for (int r = 0; r < rows.rows(); r++) {
            int[] original = new int[t];
            boolean[] protect = new boolean[t];
            boolean[] starts = new boolean[t];
            for (int i = 0; i < t; i++) {
                int at = r * t + i;
                original[i] = labels[at] != ShardBatch.IGNORE ? labels[at] : ids[at];
                protect[i] = rows.attentionMask()[at] == 0 || rows.specialTokensMask()[at] == 1;
                starts[i] = rows.wordStart() == null || rows.wordStart()[at] == 1;
            }
            Masker.Result m =
                    masker.mask(
                            original,
                            protect,
                            starts,
                            Seeds.random(seed, REMASK_STREAM, epoch, rows.exampleId()[r]));
            System.arraycopy(m.inputIds(), 0, ids, r * t, t);
            System.arraycopy(m.labels(), 0, labels, r * t, t);
        }
    }
}
