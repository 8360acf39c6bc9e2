package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.train.EvalSums;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.model.train.ShardBatch;
import dev.lmspark.spark.data.ExampleReader;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Metrics of a model on a prepared split, computed by Spark tasks over contiguous {@code
 * example_id} ranges in inference mode (no dropout) and added up on the driver in range order: loss
 * and accuracy sums over every predicted token (MLM, CLM) and every pair (NSP), so the means are
 * token-weighted over the whole split, never means of batch means. Shared by {@code evaluate} and
 * {@code train --eval-every}.
 */
public final class Evaluator {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluator() {}

    /** What an evaluation found. */
    public record Metrics(long examples, long tokens, Map<String, EvalSums> terms)
            implements Serializable {

        /** The MLM or CLM term's mean loss (the model's main objective). */
        public double loss() {
            EvalSums main = terms.containsKey("clm") ? terms.get("clm") : terms.get("mlm");
            return main == null ? Double.NaN : main.meanLoss();
        }

        /**
         * {@code evaluate}'s JSON: examples, tokens, {@code <term>_loss} and {@code
         * <term>_accuracy} for each term, and perplexity = exp(loss).
         */
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("examples", examples);
            o.put("tokens", tokens);
            terms.forEach(
                    (name, t) -> {
                        o.put(name + "_loss", t.meanLoss());
                        o.put(name + "_accuracy", t.accuracy());
                    });
            o.put("perplexity", Math.exp(loss()));
            return o;
        }

        Metrics plus(Metrics other) {
            Map<String, EvalSums> sum = new LinkedHashMap<>(terms);
            other.terms.forEach((k, v) -> sum.merge(k, v, EvalSums::plus));
            return new Metrics(examples + other.examples, tokens + other.tokens, sum);
        }
    }

    /**
     * Where an evaluation task gets the parameters: a broadcast, or the shard files of a training
     * round. Serializable, and small: it is shipped with every task.
     */
    @FunctionalInterface
    public interface ParameterSource extends Serializable {
        /** The parameters by name, created on {@code manager}. */
        Map<String, NDArray> arrays(NDManager manager) throws IOException;

        /** A broadcast's parameters. */
        static ParameterSource of(Broadcast<Parameters> params) {
            return manager -> params.value().toArrays(manager);
        }
    }

    /**
     * Evaluates {@code params} (of a model shaped {@code model}) on {@code split}.
     *
     * @param batchSize rows per forward pass
     * @param threads intra-op threads per task
     */
    public static Metrics run(
            SparkSession spark,
            PreparedDataset dataset,
            String split,
            ModelConfig model,
            ParameterSource params,
            int batchSize,
            int threads) {
        long n = dataset.numExamples(split);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int parts = (int) Math.max(1, Math.min(jsc.defaultParallelism() * 2L, (n + 255) / 256));
        List<long[]> ranges = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            ranges.add(new long[] {n * i / parts, n * (i + 1) / parts});
        }
        var hadoop = new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
        List<Metrics> partial =
                jsc.parallelize(ranges, parts)
                        .map(
                                r ->
                                        evaluateRange(
                                                dataset, split, model, params, r[0], r[1],
                                                batchSize, threads, hadoop))
                        .collect();
        Metrics total = new Metrics(0, 0, new LinkedHashMap<>());
        for (Metrics m : partial) {
            total = total.plus(m);
        }
        return total;
    }

    /** The sums over example ids {@code [from, to)}, in batches, on this task's device. */
    static Metrics evaluateRange(
            PreparedDataset dataset,
            String split,
            ModelConfig model,
            ParameterSource params,
            long from,
            long to,
            int batchSize,
            int threads,
            SerializableConfiguration hadoop) {
        Metrics total = new Metrics(0, 0, new LinkedHashMap<>());
        try (NDManager manager =
                        NDManager.newBaseManager(
                                LiveWorkers.device(org.apache.spark.TaskContext.get()),
                                Devices.ENGINE);
                ExampleReader reader = new ExampleReader(dataset, split, hadoop.value(), 2)) {
            // After the manager: the engine's native library is loaded by then, in a fresh JVM too.
            JniUtils.setNumThreads(threads);
            PretrainingTask task = new ModelWeights(model, params.arrays(manager)).task();
            for (long at = from; at < to; at += batchSize) {
                ShardBatch batch = RoundRows.toBatch(reader.read(at, Math.min(to, at + batchSize)));
                Map<String, EvalSums> sums = new LinkedHashMap<>();
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    for (EvalSums s : task.evaluate(batch)) {
                        sums.put(s.name(), s);
                    }
                }
                total = total.plus(new Metrics(batch.rows(), batch.tokens(), sums));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + split + " rows " + from + "–" + to, e);
        }
        return total;
    }
}
