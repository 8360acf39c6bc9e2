/**
 * Distributed pretraining on Spark (docs/scaling.md has the round's data flow): {@link
 * dev.lmspark.train.TrainJob} (how a run starts: {@link dev.lmspark.train.RunStart}, {@link
 * dev.lmspark.train.StartingModel}), {@link dev.lmspark.train.TrainingMaster} (the driver's round
 * loop, stop handling), {@link dev.lmspark.train.Worker} and {@link dev.lmspark.train.LiveWorkers}
 * (the executor side: a worker's round on its live state, rebuilt exactly when lost), {@link
 * dev.lmspark.train.ShardedCombine} (the outer optimizer, shard by shard), {@link
 * dev.lmspark.train.GlobalShards} (the rounds' parameters as files), {@link
 * dev.lmspark.train.CheckpointWriter} and {@link dev.lmspark.train.TrainCheckpoints} (the
 * checkpoint layout), {@link dev.lmspark.train.RoundLog} (metrics and progress), {@link
 * dev.lmspark.train.DataSchedule} (which rows each worker trains on in each round), {@link
 * dev.lmspark.train.Evaluator} and {@link dev.lmspark.train.EvaluateJob} (metrics of a model on a
 * split).
 */
package dev.lmspark.train;
