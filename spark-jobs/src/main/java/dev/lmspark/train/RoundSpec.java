package dev.lmspark.train;

import java.io.Serializable;

/**
 * What every task of one round needs besides the run's {@link RunSpec}: small and serializable.
 *
 * @param run the run
 * @param round the round (1-based)
 * @param shards where the rounds' global parameters are
 * @param baseRound the round of the last reliable copy of the workers' states (the last published
 *     checkpoint, or the run's start)
 * @param baseCheckpoint that checkpoint's directory, or null when the base is a fresh start (empty
 *     optimizer states)
 * @param homes the executor each worker's state lives on (the last round's placement): an executor
 *     that runs any task of the round frees the states it holds of workers homed elsewhere
 * @param hosts the host of each worker's home executor
 */
record RoundSpec(
        RunSpec run,
        long round,
        GlobalShards shards,
        long baseRound,
        String baseCheckpoint,
        java.util.Map<Integer, String> homes,
        java.util.Map<Integer, String> hosts)
        implements Serializable {}
