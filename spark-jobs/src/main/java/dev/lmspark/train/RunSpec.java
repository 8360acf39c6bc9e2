package dev.lmspark.train;

import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.optim.LearningRateSchedule;
import java.io.Serializable;
import org.apache.spark.util.SerializableConfiguration;

/**
 * What every task of a run needs whatever the round: broadcast once per run (its Hadoop
 * configuration alone is tens of KiB), so a round's tasks carry only a handle to it.
 *
 * @param runId identifies this run's live workers in an executor's cache
 * @param config the train flags
 * @param model the model config (vocabulary and length from the dataset)
 * @param dataset the prepared dataset
 * @param data which rows each worker trains on in each round
 * @param schedule the inner learning rate by global step
 * @param threads intra-op threads of a worker (local[N]: N; on a cluster: spark.task.cpus)
 * @param hadoop the Hadoop configuration, for reading shards
 * @param roundStartCopy whether a worker keeps a copy of its optimizer state at the start of each
 *     round (see {@link TrainJob#ROUND_START_COPY})
 * @param shards where the rounds' global parameters are
 */
public record RunSpec(
        String runId,
        TrainConfig config,
        ModelConfig model,
        dev.lmspark.spark.data.PreparedDataset dataset,
        DataSchedule data,
        LearningRateSchedule schedule,
        int threads,
        SerializableConfiguration hadoop,
        boolean roundStartCopy,
        GlobalShards shards)
        implements Serializable {}
