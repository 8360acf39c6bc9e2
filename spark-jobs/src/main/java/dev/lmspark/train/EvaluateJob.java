package dev.lmspark.train;

import ai.djl.ndarray.NDManager;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.Devices;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.PrintWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * {@code evaluate}: a checkpoint's metrics on a split of a prepared dataset ({@link Evaluator}).
 */
public final class EvaluateJob {
    private EvaluateJob() {}

    /**
     * Evaluates the checkpoint {@code checkpoint} names on {@code split} of {@code data}.
     *
     * @throws BadInputException when the checkpoint or the dataset is missing or damaged, the split
     *     does not exist, or the model does not fit the data
     */
    public static Evaluator.Metrics run(
            SparkSession spark,
            String checkpoint,
            String data,
            String split,
            int batchSize,
            PrintWriter log) {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path given = new Path(checkpoint);
        FileSystem fs = HadoopPaths.fileSystem(given, hadoop);
        Path dir = CheckpointDirectory.resolve("--checkpoint", given, fs);
        PreparedDataset dataset = PreparedDataset.open(data, hadoop);
        if (!dataset.hasSplit(split) || dataset.numExamples(split) == 0) {
            throw new BadInputException(
                    "--split "
                            + split
                            + " is not in --data "
                            + data
                            + "; it has "
                            + String.join(", ", dataset.splits()));
        }
        Parameters params;
        dev.lmspark.model.config.ModelConfig config;
        try (NDManager manager =
                NDManager.newBaseManager(Devices.forTask(null).cpu(), Devices.ENGINE)) {
            ModelWeights w = ModelCheckpoint.read(HadoopFolders.input(fs, dir), manager);
            config = w.config();
            params = Parameters.of(w.parameters());
        } catch (IOException e) {
            throw new BadInputException("--checkpoint " + checkpoint + ": " + e.getMessage(), e);
        }
        String objective = dataset.objective().equals("clm") ? "clm" : "mlm";
        if (objective.equals("clm") != config.causal()) {
            throw new BadInputException(
                    "--checkpoint "
                            + checkpoint
                            + " is a "
                            + (config.causal() ? "causal" : "masked")
                            + " LM but --data "
                            + data
                            + " is a "
                            + dataset.objective()
                            + " dataset; evaluate it on a "
                            + (config.causal() ? "clm" : "mlm")
                            + " dataset");
        }
        if (config.vocabSize() < dataset.vocabSize()
                || (config.positions().equals("learned")
                        && config.maxPositions() < dataset.maxLength())) {
            throw new BadInputException(
                    "--checkpoint "
                            + checkpoint
                            + " (vocabulary "
                            + config.vocabSize()
                            + ", "
                            + config.maxPositions()
                            + " positions) does not fit --data "
                            + data
                            + " (vocabulary "
                            + dataset.vocabSize()
                            + ", rows of "
                            + dataset.maxLength()
                            + "); use the dataset prepared with the checkpoint's tokenizer");
        }
        log.printf(
                "evaluate: %s on %s/%s (%,d examples)%n",
                dir.getName(), data, split, dataset.numExamples(split));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Parameters> b = jsc.broadcast(params);
        try {
            int threads =
                    spark.sparkContext().isLocal() ? 1 : TrainJob.threads(spark.sparkContext());
            return Evaluator.run(
                    spark,
                    dataset,
                    split,
                    config,
                    Evaluator.ParameterSource.of(b),
                    batchSize,
                    threads);
        } finally {
            b.destroy();
        }
    }
}
