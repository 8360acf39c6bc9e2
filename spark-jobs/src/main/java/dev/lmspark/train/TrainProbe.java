package dev.lmspark.train;

import dev.lmspark.model.train.PretrainingTask;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Points in a training run where something outside lmspark may look in: a service interface, loaded
 * with {@link ServiceLoader} in the driver and every executor. lmspark itself ships no
 * implementation, so in production every call does nothing; its tests register implementations (in
 * their own classpath) that pause a run at a given moment — for a test to kill an executor from
 * outside at exactly that moment — or inject a failure.
 */
public interface TrainProbe {
    /** Where a run is. */
    enum Point {
        /** The driver, after round {@code round} completed and before the next starts. */
        BETWEEN_ROUNDS,
        /** A worker task of round {@code round}, after its local step {@code index} (1-based). */
        AFTER_STEP,
        /** A combine task of round {@code round}, shard {@code index}, before it publishes. */
        COMBINE,
        /** A checkpoint task of round {@code round}, before it writes file {@code index}. */
        CHECKPOINT,
        /** An evaluation task after round {@code round}, range {@code index}. */
        EVALUATION
    }

    /**
     * Called at {@code point}.
     *
     * @param worker the worker, or -1 where none applies
     * @param model the worker's replica at {@link Point#AFTER_STEP}, else null
     */
    void at(Point point, long round, int worker, int index, PretrainingTask model);

    /** Calls every registered probe (none in production). */
    static void fire(Point point, long round, int worker, int index, PretrainingTask model) {
        for (TrainProbe p : Loaded.PROBES) {
            p.at(point, round, worker, index, model);
        }
    }

    /** The probes on this JVM's classpath, loaded once. */
    final class Loaded {
        static final List<TrainProbe> PROBES =
                ServiceLoader.load(TrainProbe.class).stream()
                        .map(ServiceLoader.Provider::get)
                        .toList();

        private Loaded() {}
    }
}
