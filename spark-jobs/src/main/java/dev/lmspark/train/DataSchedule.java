package dev.lmspark.train;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.random.Seeds;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which training examples each worker trains on in each round: a pure function of the seed, the
 * worker count and the round, over {@code example_id} ranges (the prepared split is already
 * shuffled, so a contiguous range is a random sample, and reading one costs its row groups only).
 *
 * <p>With N examples and W workers, each epoch lays the split's ids out in some order and gives
 * worker w the {@code n = ⌊N / W⌋} positions starting at {@code w·n}; the N − W·n left over change
 * from epoch to epoch. Each worker walks its part in order, {@code S} rows per round (local steps ×
 * gradient accumulation × batch size, at most n); when it ends, the next epoch's begins (epochs
 * wrap, mid-round if need be). All workers move in step, so epoch boundaries are the same for all.
 *
 * <p>The order of epoch 0 is the split's own. Later epochs, by {@link #order} version:
 *
 * <ul>
 *   <li>{@value #BLOCKS} (runs started by this lmspark): a fresh permutation of the split's blocks
 *       — the {@value PreparedDataset#ROW_GROUP}-row row groups of each shard, so a block costs one
 *       row group to read — drawn from (seed, epoch);
 *   <li>{@value #ROTATION} (runs started before it, which resume with it): the split's order
 *       rotated by an offset drawn from (seed, epoch).
 * </ul>
 *
 * @param examples N, the train split's size
 * @param workers W
 * @param perRound S, rows per worker per round
 * @param seed the run's root seed
 * @param order the data-order version, recorded in {@code trainer_state.json}
 * @param blocks the sizes of the split's blocks, in id order (they sum to N)
 */
public record DataSchedule(
        long examples, int workers, long perRound, long seed, int order, long[] blocks)
        implements Serializable {
    static final long EPOCH_OFFSET_STREAM = 0x6461746100000001L;
    static final long EPOCH_PERMUTATION_STREAM = 0x6461746100000002L;

    /** Epochs after the first rotate the split (runs recorded before block permutations). */
    public static final int ROTATION = 1;

    /** Epochs after the first permute the split's row-group blocks. */
    public static final int BLOCKS = 2;

    /** Checks that every worker gets at least one example, and a round fits in an epoch. */
    public DataSchedule {
        if (examples < workers) {
            throw new BadInputException(
                    "the train split has "
                            + examples
                            + " examples, fewer than --workers "
                            + workers
                            + "; use fewer workers or a larger dataset");
        }
        if (order != ROTATION && order != BLOCKS) {
            throw new BadInputException(
                    "data order version " + order + " is unknown; this lmspark reads 1 and 2");
        }
        if (order == BLOCKS && perRound > examples / workers) {
            throw new BadInputException(
                    String.format(
                            "a round needs %d rows per worker (--local-steps × --grad-accum ×"
                                    + " --batch-size), more than the %d rows each of the %d"
                                    + " workers has per epoch (%d train examples); lower"
                                    + " --local-steps, --grad-accum or --batch-size, or use fewer"
                                    + " workers",
                            perRound, examples / workers, workers, examples));
        }
    }

    /** The schedule of {@code dataset}'s train split. */
    static DataSchedule of(
            PreparedDataset dataset, int workers, long perRound, long seed, int order) {
        List<Long> sizes = new ArrayList<>();
        for (PreparedDataset.Shard s : dataset.shards("train")) {
            for (long at = 0; at < s.rows(); at += PreparedDataset.ROW_GROUP) {
                sizes.add(Math.min(PreparedDataset.ROW_GROUP, s.rows() - at));
            }
        }
        return new DataSchedule(
                dataset.numExamples("train"),
                workers,
                perRound,
                seed,
                order,
                sizes.stream().mapToLong(Long::longValue).toArray());
    }

    /** {@code [fromId, toId)} of one epoch, a contiguous range of example ids. */
    public record Segment(long fromId, long toId, long epoch) implements Serializable {
        public long rows() {
            return toId - fromId;
        }
    }

    /** Ids per worker per epoch: ⌊N / W⌋. */
    public long blockSize() {
        return examples / workers;
    }

    /** The epoch (0-based) the rows of round {@code round} (1-based) start in. */
    public long epochAt(long round) {
        return (round - 1) * perRound / blockSize();
    }

    /** Worker {@code worker}'s rows in round {@code round} (1-based), in training order. */
    public List<Segment> segments(int worker, long round) {
        long n = blockSize();
        List<Segment> out = new ArrayList<>();
        long p = (round - 1) * perRound;
        long end = p + perRound;
        while (p < end) {
            long epoch = p / n;
            long k = p % n;
            long take = Math.min(end - p, n - k);
            positions(epoch, worker * n + k, take, out);
            p += take;
        }
        return out;
    }

    /** The ids at positions {@code [from, from + count)} of epoch {@code epoch}'s order. */
    private void positions(long epoch, long from, long count, List<Segment> out) {
        if (epoch == 0 || order == ROTATION) {
            long offset =
                    epoch == 0
                            ? 0
                            : Math.floorMod(Seeds.mix(seed, EPOCH_OFFSET_STREAM, epoch), examples);
            long start = Math.floorMod(offset + from, examples);
            long first = Math.min(count, examples - start);
            out.add(new Segment(start, start + first, epoch));
            if (count > first) {
                out.add(new Segment(0, count - first, epoch));
            }
            return;
        }
        int[] permutation = permutation(epoch);
        long[] starts = new long[blocks.length];
        for (int b = 1; b < blocks.length; b++) {
            starts[b] = starts[b - 1] + blocks[b - 1];
        }
        long position = 0;
        long to = from + count;
        for (int i = 0; i < permutation.length && position < to; i++) {
            int b = permutation[i];
            long a = Math.max(from, position);
            long z = Math.min(to, position + blocks[b]);
            if (z > a) {
                long id = starts[b] + (a - position);
                Segment last = out.isEmpty() ? null : out.get(out.size() - 1);
                if (last != null && last.epoch() == epoch && last.toId() == id) {
                    out.set(out.size() - 1, new Segment(last.fromId(), id + (z - a), epoch));
                } else {
                    out.add(new Segment(id, id + (z - a), epoch));
                }
            }
            position += blocks[b];
        }
    }

    /** Epoch {@code epoch}'s order of the blocks: a Fisher–Yates shuffle from (seed, epoch). */
    private int[] permutation(long epoch) {
        int[] p = new int[blocks.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        SplittableRandom r = Seeds.random(seed, EPOCH_PERMUTATION_STREAM, epoch);
        for (int i = p.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
