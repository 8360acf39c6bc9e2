package dev.lmspark.jobs;

import static dev.lmspark.jobs.PrepareFixture.ok;
import static dev.lmspark.jobs.PrepareFixture.shardBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.spark.FailOnceProbe;
import dev.lmspark.spark.SharedSpark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Byte-identical shards whatever the partitioning (1, 4 and 7 input partitions) and with tasks that
 * fail once and are retried.
 */
@ExtendWith(SharedSpark.class)
class PrepareDeterminismTest {
    @TempDir static Path dir;
    static PrepareFixture f;

    @BeforeAll
    static void corpora() {
        f = PrepareFixture.shared();
    }

    /** Counts tasks and failed task attempts while a block runs. */
    static final class Tasks extends SparkListener {
        final AtomicInteger ended = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            ended.incrementAndGet();
            if (end.taskInfo().failed()) {
                failed.incrementAndGet();
            }
        }
    }

    private static Map<String, byte[]> prepare(
            String name, String failStage, Tasks tasks, String... args) throws Exception {
        SparkContext sc = SharedSpark.session().sparkContext();
        Path out = dir.resolve(name);
        List<String> all = new ArrayList<>(List.of("prepare", "--output", out.toString()));
        all.addAll(List.of(args));
        sc.addSparkListener(tasks);
        sc.setLocalProperty(FailOnceProbe.PROPERTY, failStage);
        try {
            ok(all.toArray(String[]::new));
        } finally {
            sc.setLocalProperty(FailOnceProbe.PROPERTY, null);
            sc.listenerBus().waitUntilEmpty();
            sc.removeSparkListener(tasks);
        }
        return shardBytes(out);
    }

    private static void assertSameShards(
            Map<String, byte[]> expected, Map<String, byte[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), what + ": " + k));
    }

    @Test
    void mlmWithNspIsByteIdenticalForAnyPartitioningAndRetries() throws Exception {
        String[] args = {
            "--input",
            f.prose.toString(),
            "--tokenizer",
            f.wordpiece.toString(),
            "--nsp",
            "--max-length",
            "64",
            "--shards",
            "3",
            "--validation-fraction",
            "0.05"
        };
        Tasks one = new Tasks();
        Map<String, byte[]> reference = prepare("p1", null, one, concat(args, "--partitions", "1"));
        assertTrue(reference.size() >= 4, reference.keySet().toString());
        Tasks seven = new Tasks();
        assertSameShards(
                reference,
                prepare("p7", null, seven, concat(args, "--partitions", "7")),
                "7 partitions");
        assertTrue(
                seven.ended.get() > one.ended.get(),
                "more partitions, more tasks: " + seven.ended.get() + " vs " + one.ended.get());
        // 4 partitions, each run with a task of one stage failing once and retried.
        for (String stage : List.of("tokenize", "write")) {
            Tasks tasks = new Tasks();
            assertSameShards(
                    reference,
                    prepare("retry-" + stage, stage, tasks, concat(args, "--partitions", "4")),
                    "a " + stage + " task failing once");
            // Partition 0 fails once in each job of the stage (write: one job per split).
            int jobs = stage.equals("write") ? 2 : 1;
            assertEquals(
                    jobs, tasks.failed.get(), "task attempts failed in " + stage + ", retried");
        }
    }

    @Test
    void packedClmWithContextFimIsByteIdenticalForAnyPartitioning() throws Exception {
        String[] args = {
            "--input",
            f.code.toString(),
            "--tokenizer",
            f.bpe.toString(),
            "--objective",
            "clm",
            "--pack",
            "--fim-rate",
            "0.5",
            "--fim-level",
            "context",
            "--max-length",
            "80",
            "--shards",
            "4"
        };
        Map<String, byte[]> reference =
                prepare("c1", null, new Tasks(), concat(args, "--partitions", "1"));
        assertSameShards(
                reference,
                prepare("c7", null, new Tasks(), concat(args, "--partitions", "7")),
                "7 partitions");
        Tasks tasks = new Tasks();
        assertSameShards(
                reference,
                prepare("c-retry", "tokenize", tasks, concat(args, "--partitions", "3")),
                "a failed tokenize task");
        assertEquals(1, tasks.failed.get());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
