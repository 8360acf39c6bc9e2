package dev.lmspark.spark.data;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.data.PreparedDataset.Shard;
import java.util.Arrays;
import java.util.List;

/**
 * Where each {@code example_id} of a split lives: the manifest's shards of the split, checked to
 * tile {@code [0, num_examples)} in order, and the shard holding a given id.
 */
final class ShardIndex {
    private final List<Shard> shards;
    private final long[] firstIds;

    /**
     * The index of {@code split}'s shards.
     *
     * @throws BadInputException when the shards do not cover every example_id once, in order
     */
    ShardIndex(PreparedDataset dataset, String split) {
        this.shards = dataset.shards(split);
        this.firstIds = new long[shards.size()];
        long next = 0;
        for (int i = 0; i < shards.size(); i++) {
            Shard s = shards.get(i);
            if (s.firstExampleId() != next || s.rows() < 0) {
                throw new BadInputException(
                        dataset.root()
                                + "/"
                                + PreparedDataset.MANIFEST
                                + ": "
                                + s.path()
                                + " starts at example_id "
                                + s.firstExampleId()
                                + " where "
                                + next
                                + " was due; the manifest's "
                                + split
                                + " shards must cover every example_id once (run lmspark verify)");
            }
            firstIds[i] = next;
            next += s.rows();
        }
        long numExamples = dataset.numExamples(split);
        if (next != numExamples) {
            throw new BadInputException(
                    dataset.root()
                            + "/"
                            + PreparedDataset.MANIFEST
                            + ": the "
                            + split
                            + " shards hold "
                            + next
                            + " rows, num_examples says "
                            + numExamples
                            + " (run lmspark verify)");
        }
    }

    /** The number of shards. */
    int size() {
        return shards.size();
    }

    /** Shard {@code s}'s manifest entry. */
    Shard shard(int s) {
        return shards.get(s);
    }

    /** The shard holding {@code id} (of empty shards sharing a first id, the last). */
    int shardOf(long id) {
        return last(firstIds, firstIds.length, id);
    }

    /**
     * The last index i below {@code n} with {@code starts[i] ≤ value}, for ascending {@code starts}
     * whose entries may repeat (empty shards, empty row groups).
     */
    static int last(long[] starts, int n, long value) {
        int i = Arrays.binarySearch(starts, 0, n, value);
        if (i < 0) {
            i = -i - 2;
        }
        while (i + 1 < n && starts[i + 1] <= value) {
            i++;
        }
        return i;
    }
}
