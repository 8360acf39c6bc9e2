package dev.lmspark.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/**
 * Where a round's tasks run: one partition per item, worker tasks preferring the executor that
 * holds the worker's live state (Spark's executor-cache locality, {@code executor_<host>_<id>}), so
 * a state moves only when its executor is gone or busy past {@code spark.locality.wait}. Any number
 * of workers on any number of executors: a preference is a wish, never a requirement.
 */
final class Placement {
    private Placement() {}

    /**
     * {@code items}, one per partition, each preferring the executor {@code homes} names for the
     * worker {@code workerOf} gives (none for negative ids, or a worker without a home yet).
     */
    static JavaRDD<Integer> of(
            JavaSparkContext jsc,
            List<Integer> items,
            Map<Integer, String> homes,
            Map<Integer, String> hosts,
            java.util.function.IntUnaryOperator workerOf) {
        List<Tuple2<Integer, scala.collection.immutable.Seq<String>>> placed = new ArrayList<>();
        for (int item : items) {
            int w = workerOf.applyAsInt(item);
            String executor = w >= 0 ? homes.get(w) : null;
            String host = w >= 0 ? hosts.get(w) : null;
            List<String> where =
                    executor == null || host == null || executor.equals("driver")
                            ? List.of()
                            : List.of("executor_" + host + "_" + executor);
            placed.add(new Tuple2<>(item, CollectionConverters.asScala(where).toList()));
        }
        return jsc.sc()
                .makeRDD(
                        CollectionConverters.asScala(placed).toSeq(),
                        ClassTag$.MODULE$.apply(Integer.class))
                .toJavaRDD();
    }
}
