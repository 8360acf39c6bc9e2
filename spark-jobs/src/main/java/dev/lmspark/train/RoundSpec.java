package dev.lmspark.train;

import java.io.Serializable;
import java.util.Map;

/**
 * What every task of one round needs: a handle to the run's {@link RunSpec} (a broadcast, fetched
 * once per executor) and the round's few facts. Small: it travels with every task.
 *
 * @param runs the run's spec
 * @param round the round (1-based)
 * @param baseRound the round of the last reliable copy of the workers' states (the last published
 *     checkpoint, or the run's start)
 * @param baseCheckpoint that checkpoint's directory, or null when the base is a fresh start (empty
 *     optimizer states)
 * @param homes the executor each worker's state lives on (the last round's placement): an executor
 *     that runs a worker task of the round frees the states it holds of workers homed elsewhere
 * @param hosts the host of each worker's home executor
 */
record RoundSpec(
        Handle runs,
        long round,
        long baseRound,
        String baseCheckpoint,
        Map<Integer, String> homes,
        Map<Integer, String> hosts)
        implements Serializable {

    /** Where a task finds the run's spec (a broadcast's value, in a run). */
    @FunctionalInterface
    interface Handle extends Serializable {
        RunSpec get();
    }

    /** The run's spec. */
    RunSpec run() {
        return runs.get();
    }

    /** Where the rounds' global parameters are. */
    GlobalShards shards() {
        return run().shards();
    }
}
