package dev.lmspark.train;

import java.io.Serializable;

/**
 * One element of a round's output RDD: the worker's new state (kept in the block manager for the
 * next round) and its result (collected by the driver).
 */
public record WorkerRound(WorkerState state, WorkerResult result) implements Serializable {}
