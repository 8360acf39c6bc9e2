package dev.lmspark.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The driver side of a run (Deeplearning4j's ParameterAveragingTrainingMaster, with DiLoCo's outer
 * optimizer and BigDL's sharded all-reduce): schedules each round as one Spark job — K worker tasks
 * ({@link Worker}) whose updates, cut into S shard pieces, go through Spark's shuffle to S combine
 * tasks ({@link ShardedCombine}) that publish round r's global parameters ({@link GlobalShards}) —
 * then logs, evaluates and checkpoints ({@link CheckpointWriter}) and decides what comes next. It
 * holds metadata only (reports, timings, a few sums): never an update or a copy of the parameters,
 * so its memory does not grow with the workers or the model. Stops on a signal after publishing the
 * last completed round.
 */
final class TrainingMaster {
    /** The job group of the rounds' jobs, which a stop signal cancels. */
    static final String ROUND_JOB_GROUP = "lmspark-train-round";

    /** Failed round jobs in a row before the run ends (each already retried by Spark). */
    static final int MAX_ROUND_FAILURES = 3;

    /** Rounds in a row with a non-finite worker before the run stops. */
    static final int MAX_BAD_ROUNDS = 3;

    /** Everything a run is started with. */
    record Setup(
            SparkSession spark,
            TrainConfig config,
            PreparedDataset dataset,
            ModelConfig model,
            RunSpec spec,
            GlobalShards shards,
            FileSystem fs,
            Path output,
            MetricsLog metrics,
            CheckpointWriter checkpoints,
            long startRound,
            String startCheckpoint,
            long startTokens,
            long startExamples,
            long rounds,
            long scheduleSteps,
            long started) {}

    private final Setup s;
    private final TrainConfig c;
    private final SparkContext sc;
    private final JavaSparkContext jsc;
    private final StopSignal stop;
    private final PrintWriter log;
    private final RoundLog roundLog;
    private final Map<Integer, String> homes = new LinkedHashMap<>();
    private final Map<Integer, String> hosts = new LinkedHashMap<>();

    private final org.apache.spark.broadcast.Broadcast<RunSpec> run;
    private long round;
    private long rounds;
    private long baseRound;
    private String published;

    TrainingMaster(Setup setup, StopSignal stop, PrintWriter log) {
        this.s = setup;
        this.c = setup.config();
        this.sc = setup.spark().sparkContext();
        this.jsc = JavaSparkContext.fromSparkContext(sc);
        this.stop = stop;
        this.log = log;
        this.round = setup.startRound();
        this.rounds = setup.rounds();
        this.baseRound = setup.startRound();
        this.published = setup.startCheckpoint();
        this.roundLog = new RoundLog(setup, log);
        this.run = jsc.broadcast(setup.spec());
    }

    /** Trains until done or stopped; see {@link TrainJob#run}. */
    TrainJob.Result run() throws IOException {
        long firstRound = round + 1;
        boolean untilTokens = c.rounds() == 0 && c.maxTokens() > 0;
        long checkpointed = round;
        int failures = 0;
        int badRounds = 0;
        try (DriverTelemetry telemetry = new DriverTelemetry(sc)) {
            roundLog.evaluateStart(this::evaluate);
            while ((round < rounds || untilTokens)
                    && (c.maxTokens() == 0 || roundLog.tokens() < c.maxTokens())) {
                if (stop.requested()) {
                    break;
                }
                TrainProbe.fire(TrainProbe.Point.BETWEEN_ROUNDS, round, -1, 0, null);
                round++;
                // --max-tokens alone planned its rounds from the average row; the run ends at the
                // tokens, a round or two either side.
                rounds = Math.max(rounds, round);
                long roundStart = System.nanoTime();
                RoundSpec spec = roundSpec(round);
                telemetry.takeBytesIn();
                JavaRDD<ShardedCombine.Result> job = roundJob(spec);
                sc.setJobGroup(
                        ROUND_JOB_GROUP,
                        String.format("lmspark train round %d/%d", round, rounds),
                        false);
                List<ShardedCombine.Result> results;
                try {
                    results = RoundJobs.await(job.collectAsync(), stop);
                } catch (Exception e) {
                    // Spark throws its checked SparkException undeclared.
                    sc.clearJobGroup();
                    RoundJobs.cleanShuffles(sc, job.rdd());
                    round--;
                    if (stop.requested()) {
                        break;
                    }
                    if (RoundJobs.isBadInput(e)) {
                        // The user's (exit 2), e.g. a shard that is not the dataset's.
                        throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
                    }
                    if (++failures > MAX_ROUND_FAILURES) {
                        throw RoundJobs.failed(round + 1, e, published);
                    }
                    log.printf(
                            "train: round %d failed (%s); running it again (%d of %d)%n",
                            round + 1, RoundJobs.taskError(e), failures, MAX_ROUND_FAILURES);
                    continue;
                }
                failures = 0;
                long jobEnd = System.nanoTime();
                sc.clearJobGroup();
                RoundJobs.cleanShuffles(sc, job.rdd());
                results = new ArrayList<>(results);
                results.sort(Comparator.comparingInt(ShardedCombine.Result::shard));
                List<WorkerReport> reports = results.get(0).reports();
                for (WorkerReport r : reports) {
                    homes.put(r.worker(), r.executor());
                    hosts.put(r.worker(), r.host());
                }
                if (round == firstRound) {
                    // Once the first round ran, the executors have registered.
                    RoundJobs.warnAboutSlots(sc, c.workers(), log);
                }
                ObjectNode record =
                        roundLog.completed(
                                round,
                                rounds,
                                results,
                                roundStart,
                                jobEnd,
                                telemetry.takeBytesIn(),
                                round > firstRound);
                boolean last =
                        (c.maxTokens() > 0 && roundLog.tokens() >= c.maxTokens())
                                || (!untilTokens && round == rounds);
                if (c.evalEvery() > 0 && (round % c.evalEvery() == 0 || last)) {
                    long t = System.nanoTime();
                    Evaluator.Metrics m = evaluate(round);
                    record.put("eval_s", (System.nanoTime() - t) / 1e9);
                    roundLog.addEvaluation(record, m);
                }
                record.put("checkpoint_s", 0.0);
                s.metrics().append(record);
                badRounds = roundLog.droppedLastRound() ? badRounds + 1 : 0;
                boolean giveUp = badRounds >= MAX_BAD_ROUNDS;
                if (last
                        || giveUp
                        || (c.checkpointEvery() > 0 && round % c.checkpointEvery() == 0)) {
                    long t = System.nanoTime();
                    checkpoint(spec);
                    checkpointed = round;
                    // The record went out first, so a checkpoint never names a round the log lacks.
                    record.put("checkpoint_s", (System.nanoTime() - t) / 1e9);
                    s.metrics().replaceLast(record);
                }
                if (giveUp) {
                    throw new TrainStoppedException(
                            String.format(
                                    "stopped: %d rounds in a row (%d–%d) had a non-finite loss or"
                                            + " update; checkpoint %s holds the last finite state"
                                            + " (bad updates dropped). Lower --lr or set"
                                            + " --clip-norm, then start a new run with --init-from"
                                            + " %s",
                                    badRounds, round - badRounds + 1, round, published, published),
                            1,
                            null);
                }
                roundLog.progress(round, rounds, record);
            }
            boolean finished =
                    (c.maxTokens() > 0 && roundLog.tokens() >= c.maxTokens())
                            || (!untilTokens && round >= rounds);
            if (round > checkpointed) {
                checkpointAfterStop();
            }
            GlobalShards.deleteAll(s.fs(), s.output());
            run.destroy();
            if (sc.isLocal()) {
                LiveWorkers.release(s.spec().runId(), null, null, Long.MAX_VALUE);
            }
            if (stop.requested() && !finished) {
                throw stopped();
            }
            return roundLog.result(firstRound, round, published);
        }
    }

    /** Round {@code r}'s spec: the base of replays is the last published checkpoint. */
    private RoundSpec roundSpec(long r) {
        var broadcast = run;
        return new RoundSpec(
                () -> broadcast.value(),
                r,
                baseRound,
                published,
                new LinkedHashMap<>(homes),
                new LinkedHashMap<>(hosts));
    }

    /** Round {@code spec.round()}'s job: K worker tasks, their shuffle, S combine tasks. */
    private JavaRDD<ShardedCombine.Result> roundJob(RoundSpec spec) {
        List<Integer> ids = new ArrayList<>();
        for (int w = 0; w < c.workers(); w++) {
            ids.add(w);
        }
        return Placement.of(jsc, ids, spec.homes(), spec.hosts(), w -> w)
                .mapPartitionsToPair(it -> Worker.run(it.next(), spec))
                .repartitionAndSortWithinPartitions(
                        new ShardPiece.ByShard(s.shards().layout().shards()), ShardPiece.ORDER)
                .mapPartitionsWithIndex(
                        (shard, it) -> List.of(ShardedCombine.run(shard, it, spec)).iterator(),
                        true);
    }

    private void checkpoint(RoundSpec spec) throws IOException {
        RoundSpec at = roundSpec(spec.round());
        published =
                s.checkpoints()
                        .write(
                                at,
                                new CheckpointWriter.Progress(
                                        round,
                                        rounds,
                                        s.scheduleSteps(),
                                        roundLog.tokens(),
                                        roundLog.examples(),
                                        s.spec().runId(),
                                        (System.nanoTime() - s.started()) / 1e9))
                        .toString();
        baseRound = round;
        // Replays start from this checkpoint now: the rounds before it are not needed.
        s.shards().deleteBefore(round);
    }

    /** The checkpoint of the last completed round after the loop ended early (a stop signal). */
    private void checkpointAfterStop() throws IOException {
        try {
            checkpoint(roundSpec(round));
        } catch (IOException | RuntimeException e) {
            if (!stop.requested()) {
                throw e;
            }
            // E.g. the executors holding the states died with the driver's pod.
            throw new TrainStoppedException(
                    String.format(
                            "stopped by %s after round %d of %d, but its checkpoint could not be"
                                    + " written (%s); %s",
                            stop.signal(),
                            round,
                            rounds,
                            RoundJobs.taskError(e),
                            published == null
                                    ? "nothing was published: start the run again with"
                                            + " --overwrite"
                                    : "continue from the last published one, "
                                            + published
                                            + ", with: lmspark train --data "
                                            + c.data()
                                            + " --output "
                                            + c.output()
                                            + " --resume"),
                    StopSignal.exitStatus(stop.signal()),
                    e);
        }
    }

    private TrainStoppedException stopped() {
        return new TrainStoppedException(
                published == null
                        ? String.format(
                                "stopped by %s before round 1 completed; nothing was published:"
                                        + " start the run again with --overwrite",
                                stop.signal())
                        : String.format(
                                "stopped by %s after round %d of %d; checkpoint %s is published."
                                        + " Continue with: lmspark train --data %s --output %s"
                                        + " --resume",
                                stop.signal(), round, rounds, published, c.data(), c.output()),
                StopSignal.exitStatus(stop.signal()),
                null);
    }

    /** The parameters at the end of round {@code r} (0: the start) on the validation split. */
    private Evaluator.Metrics evaluate(long r) {
        TrainJob.requireValidation(s.dataset(), c);
        GlobalShards shards = s.shards();
        sc.setJobDescription("lmspark train: evaluate round " + r);
        try {
            int threads = sc.isLocal() ? 1 : s.spec().threads();
            return Evaluator.run(
                    s.spark(),
                    s.dataset(),
                    "validation",
                    s.model(),
                    manager -> {
                        TrainProbe.fire(TrainProbe.Point.EVALUATION, r, -1, 0, null);
                        return shards.arrays(r, GlobalShards.Kind.PARAMS, manager);
                    },
                    c.evalBatchSize(),
                    threads);
        } finally {
            sc.setJobDescription(null);
        }
    }
}
