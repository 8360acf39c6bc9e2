package dev.lmspark.train;

import java.io.Serializable;
import java.util.Comparator;
import org.apache.spark.Partitioner;

/**
 * A record of the sharded combine's shuffle: for shard {@code shard}, either a worker's report
 * (phase 0, sent for every shard) or its piece of the update (phase 1: Δ over the shard's flat
 * range, as {@code --delta-precision} encodes it). Sorted by (phase, worker) within a shard, so the
 * combine task reads every report — the token weights, the finite flags and the norms — before the
 * first piece, then the pieces in worker-id order, which fixes the order of the float64 sum.
 *
 * @param shard the shard
 * @param phase 0 report, 1 update piece
 * @param worker the worker
 * @param report the report (phase 0), else null
 * @param delta the piece as sent (phase 1: fp32, or bf16 or int8, see {@link DeltaCodec}), else
 *     null
 */
record ShardPiece(int shard, int phase, int worker, WorkerReport report, DeltaCodec.Encoded delta)
        implements Serializable {

    /** The shuffle key: (shard, phase, worker). */
    record Key(int shard, int phase, int worker) implements Serializable {}

    Key key() {
        return new Key(shard, phase, worker);
    }

    /** The order within a shard: reports before pieces, each in worker-id order. */
    static final Comparator<Key> ORDER = new KeyOrder();

    private static final class KeyOrder implements Comparator<Key>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(Key a, Key b) {
            int c = Integer.compare(a.shard, b.shard);
            if (c == 0) {
                c = Integer.compare(a.phase, b.phase);
            }
            return c != 0 ? c : Integer.compare(a.worker, b.worker);
        }
    }

    /** Sends shard s's records to combine task s. */
    static final class ByShard extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int shards;

        ByShard(int shards) {
            this.shards = shards;
        }

        @Override
        public int numPartitions() {
            return shards;
        }

        @Override
        public int getPartition(Object key) {
            return ((Key) key).shard();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ByShard b && b.shards == shards;
        }

        @Override
        public int hashCode() {
            return shards;
        }
    }
}
