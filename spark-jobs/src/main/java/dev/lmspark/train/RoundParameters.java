package dev.lmspark.train;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * A round's broadcast global parameters, as its tasks' closure holds them. Once the round is over
 * the broadcast is destroyed (its copies freed everywhere) and this reference is released: the
 * round's RDD stays in later rounds' lineage (locally checkpointed, never recomputed), and its
 * closure must then serialize without the destroyed broadcast.
 */
final class RoundParameters implements Serializable {
    private static final long serialVersionUID = 1L;

    private transient Broadcast<Parameters> broadcast;
    private final long round;

    RoundParameters(Broadcast<Parameters> broadcast, long round) {
        this.broadcast = broadcast;
        this.round = round;
    }

    /** The parameters, on an executor. */
    Parameters value() {
        if (broadcast == null) {
            throw new IllegalStateException(
                    "the global parameters of round "
                            + round
                            + " were released: its output cannot be recomputed (an executor that"
                            + " held it was lost); resume from the last checkpoint");
        }
        return broadcast.value();
    }

    /** The round these parameters start. */
    long round() {
        return round;
    }

    /** Destroys the broadcast and drops the reference. */
    void release() {
        if (broadcast != null) {
            broadcast.destroy();
            broadcast = null;
        }
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeObject(broadcast);
    }

    @SuppressWarnings("unchecked")
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        broadcast = (Broadcast<Parameters>) in.readObject();
    }
}
