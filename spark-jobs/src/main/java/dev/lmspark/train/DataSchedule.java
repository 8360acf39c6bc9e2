package dev.lmspark.train;

import dev.lmspark.data.BadInputException;
import dev.lmspark.data.random.Seeds;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Which training examples each worker trains on in each round: a pure function of the seed, the
 * worker count and the round, over contiguous {@code example_id} ranges (the prepared split is
 * already shuffled, so a contiguous range is a random sample, and a worker reads each row group of
 * its range once per epoch).
 *
 * <p>With N examples and W workers, an epoch gives worker w the block of {@code n = ⌊N / W⌋} ids
 * starting at {@code offset(epoch) + w·n} (modulo N); {@code offset(0) = 0}, later epochs start at
 * an offset drawn from (seed, epoch), so blocks, batch boundaries and the N − W·n ids left out move
 * from epoch to epoch. Each worker walks its block in order, {@code S} rows per round (local steps
 * × gradient accumulation × batch size); when the block ends, the next epoch's block begins (epochs
 * wrap, mid-round if need be). All workers move in step, so epoch boundaries are the same for all.
 *
 * @param examples N, the train split's size
 * @param workers W
 * @param perRound S, rows per worker per round
 * @param seed the run's root seed
 */
public record DataSchedule(long examples, int workers, long perRound, long seed)
        implements Serializable {
    static final long EPOCH_OFFSET_STREAM = 0x6461746100000001L;

    /** Checks that every worker gets at least one example per epoch. */
    public DataSchedule {
        if (examples < workers) {
            throw new BadInputException(
                    "the train split has "
                            + examples
                            + " examples, fewer than --workers "
                            + workers
                            + "; use fewer workers or a larger dataset");
        }
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
            long start = Math.floorMod(offset(epoch) + worker * n + k, examples);
            long first = Math.min(take, examples - start);
            out.add(new Segment(start, start + first, epoch));
            if (take > first) {
                out.add(new Segment(0, take - first, epoch));
            }
            p += take;
        }
        return out;
    }

    private long offset(long epoch) {
        return epoch == 0
                ? 0
                : Math.floorMod(Seeds.mix(seed, EPOCH_OFFSET_STREAM, epoch), examples);
    }
}
