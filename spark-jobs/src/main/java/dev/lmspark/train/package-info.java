/**
 * Distributed pretraining on Spark: {@link dev.lmspark.train.TrainJob} (the driver: rounds,
 * parameter averaging with the {@link dev.lmspark.train.OuterOptimizer}, evaluation, checkpoints,
 * metrics, resume), {@link dev.lmspark.train.Worker} (the executor side: a worker's round on its
 * cached state), {@link dev.lmspark.train.DataSchedule} (which rows each worker trains on in each
 * round), {@link dev.lmspark.train.Evaluator} and {@link dev.lmspark.train.EvaluateJob} (metrics of
 * a model on a split), {@link dev.lmspark.train.TrainCheckpoints} (the checkpoint layout).
 */
package dev.lmspark.train;
