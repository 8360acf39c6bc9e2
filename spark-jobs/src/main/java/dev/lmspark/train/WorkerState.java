package dev.lmspark.train;

import java.io.Serializable;

/**
 * A worker's state between rounds, as Spark's block manager holds it: the inner AdamW state at the
 * end of round {@code round}, as the bytes of an {@code OptimizerCheckpoint} (what a checkpoint's
 * {@code workers/worker-NNNNN.safetensors} holds). The model replica is not part of it: every round
 * starts from the broadcast global parameters.
 *
 * @param worker the worker id
 * @param round the last round this state includes (0: none yet)
 * @param optimizer the safetensors bytes of the AdamW state (empty before the first step)
 */
public record WorkerState(int worker, long round, byte[] optimizer) implements Serializable {}
