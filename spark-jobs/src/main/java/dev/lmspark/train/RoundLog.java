package dev.lmspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.model.train.StepResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The run's progress as people and tools read it (the manner of Deeplearning4j's per-phase training
 * stats): each round's {@code metrics.jsonl} record (docs/metrics.md), the progress line on stderr,
 * warnings about dropped workers and rebuilt states, and the run's totals.
 */
final class RoundLog {
    private final TrainingMaster.Setup s;
    private final TrainConfig c;
    private final PrintWriter log;
    private final double bytesPerRow;
    private final long loopStart = System.nanoTime();
    private final Map<Integer, String> lastExecutor = new HashMap<>();
    private long tokens;
    private long examples;
    private long bytesRead;
    private double lastLoss = Double.NaN;
    private Double firstEval;
    private Double lastEval;
    private long roundTokens;
    private double roundSeconds;
    private boolean dropped;
    private Map<String, StepResult.TermSum> terms = Map.of();

    RoundLog(TrainingMaster.Setup setup, PrintWriter log) {
        this.s = setup;
        this.c = setup.config();
        this.log = log;
        this.tokens = setup.startTokens();
        this.examples = setup.startExamples();
        long n = setup.dataset().numExamples("train");
        long bytes = 0;
        for (var shard : setup.dataset().shards("train")) {
            bytes += shard.bytes();
        }
        this.bytesPerRow = bytes / (double) n;
    }

    long tokens() {
        return tokens;
    }

    long examples() {
        return examples;
    }

    /** Whether some worker's update was dropped in the last round. */
    boolean droppedLastRound() {
        return dropped;
    }

    /**
     * With {@code --eval-every} at a fresh start, round 0's record (the initial parameters); on
     * resume, the evaluations recorded so far.
     */
    void evaluateStart(LongFunction<Evaluator.Metrics> evaluate) throws IOException {
        if (c.evalEvery() > 0 && s.startRound() == 0) {
            Evaluator.Metrics m = evaluate.apply(0);
            ObjectNode record = TrainCheckpoints.JSON.createObjectNode();
            record.put("round", 0);
            record.put("step", 0);
            record.put("tokens", 0);
            record.put("loss", m.loss());
            record.put("lr", s.spec().schedule().at(0));
            addEvaluation(record, m);
            s.metrics().append(record);
            log.printf("train: round 0/%d  validation loss %.4f%n", s.rounds(), m.loss());
            return;
        }
        for (JsonNode r : s.metrics().records()) {
            if (r.has("eval_loss")) {
                if (firstEval == null) {
                    firstEval = r.path("eval_loss").asDouble();
                }
                lastEval = r.path("eval_loss").asDouble();
            }
        }
    }

    /** Round {@code round}'s record from its combine tasks' results (sorted by shard). */
    ObjectNode completed(
            long round,
            long rounds,
            List<ShardedCombine.Result> results,
            long roundStart,
            long jobEnd,
            long bytesIn,
            boolean notable) {
        List<WorkerReport> reports = results.get(0).reports();
        Map<String, StepResult.TermSum> sums = new LinkedHashMap<>();
        List<Integer> droppedWorkers = new ArrayList<>();
        roundTokens = 0;
        long roundRows = 0;
        double lr = 0;
        int finite = 0;
        int nonZero = 0;
        for (WorkerReport w : reports) {
            bytesRead += w.bytesRead();
            lr = w.lastLr();
            noteRestore(w, round, notable);
            if (!w.finite()) {
                droppedWorkers.add(w.worker());
                log.printf(
                        "train: warning: worker %d's loss or update was not finite in round %d"
                                + " (%s); its update is dropped and its optimizer state rolled"
                                + " back to the start of the round%n",
                        w.worker(), round, describeTerms(w.terms()));
                continue;
            }
            finite++;
            nonZero += w.deltaNorm() > 0 ? 1 : 0;
            w.terms().forEach(t -> sums.merge(t.name(), t, StepResult.TermSum::plus));
            roundTokens += w.tokens();
            roundRows += w.examples();
        }
        terms = sums;
        dropped = !droppedWorkers.isEmpty();
        tokens += roundTokens;
        examples += roundRows;
        double loss = sums.isEmpty() ? Double.NaN : 0;
        for (StepResult.TermSum t : sums.values()) {
            loss += t.mean();
        }
        if (!sums.isEmpty()) {
            lastLoss = loss;
        }
        double updateSquares = 0;
        double directionSquares = 0;
        double combineSeconds = 0;
        for (ShardedCombine.Result r : results) {
            updateSquares += r.updateSquares();
            directionSquares += r.directionSquares();
            combineSeconds = Math.max(combineSeconds, r.seconds());
        }
        roundSeconds = (System.nanoTime() - roundStart) / 1e9;
        ObjectNode record = TrainCheckpoints.JSON.createObjectNode();
        record.put("round", round);
        record.put("step", round * c.localSteps());
        record.put("tokens", tokens);
        record.put("examples", examples);
        if (sums.isEmpty()) {
            record.putNull("loss");
        } else {
            record.put("loss", loss);
        }
        sums.values().forEach(t -> record.put(t.name() + "_loss", t.mean()));
        record.put("lr", lr);
        record.put(
                "epoch",
                (double) (round * c.examplesPerWorkerRound()) / s.spec().data().blockSize());
        record.put("tokens_per_s", roundTokens / roundSeconds);
        // Shard bytes read against the bytes of the rows trained on, since this invocation
        // started (a resumed run re-reads the row groups it is in the middle of).
        record.put("bytes_read", bytesRead);
        record.put("bytes_trained", Math.round((examples - s.startExamples()) * bytesPerRow));
        record.put("round_s", roundSeconds);
        record.put("compute_s", max(reports, WorkerReport::computeSeconds));
        record.put("setup_s", max(reports, WorkerReport::setupSeconds));
        record.put("send_s", max(reports, WorkerReport::sendSeconds));
        record.put("job_s", (jobEnd - roundStart) / 1e9);
        record.put("combine_s", combineSeconds);
        ArrayNode workerSeconds = record.putArray("worker_compute_s");
        reports.forEach(w -> workerSeconds.add(w.computeSeconds()));
        if (reports.stream().allMatch(w -> w.rssBytes() >= 0)) {
            ArrayNode rss = record.putArray("worker_rss_mb");
            reports.forEach(w -> rss.add(Math.round(w.rssBytes() / 1048576.0 * 10) / 10.0));
        }
        ArrayNode norms = record.putArray("worker_delta_norm");
        reports.forEach(
                w -> {
                    if (w.finite()) {
                        norms.add(w.deltaNorm());
                    } else {
                        norms.addNull();
                    }
                });
        if (finite > 1) {
            // Σ_{a<b} cos(Δ_a, Δ_b) = (‖Σ_w Δ_w/‖Δ_w‖‖² − nonzero) / 2, over finite·(finite−1)/2.
            record.put("agreement", (directionSquares - nonZero) / (finite * (finite - 1.0)));
        }
        if (dropped) {
            ArrayNode d = record.putArray("dropped_workers");
            droppedWorkers.forEach(d::add);
        }
        record.put("update_norm", Math.sqrt(updateSquares));
        record.put("delta_bytes", reports.stream().mapToLong(WorkerReport::deltaBytes).sum());
        record.put("driver_bytes_in", bytesIn);
        record.put("driver_heap_mb", DriverTelemetry.oldGenerationMb());
        record.put("combine_shards", results.size());
        record.put("elapsed_s", (System.nanoTime() - s.started()) / 1e9);
        return record;
    }

    private static double max(
            List<WorkerReport> reports, java.util.function.ToDoubleFunction<WorkerReport> f) {
        return reports.stream().mapToDouble(f).max().orElse(0);
    }

    /** Says how a worker's state was found when it was not simply live. */
    private void noteRestore(WorkerReport w, long round, boolean notable) {
        String before = lastExecutor.put(w.worker(), w.executor());
        WorkerReport.Restore r = w.restore();
        String moved =
                before != null && !before.equals(w.executor())
                        ? " (it ran on executor " + before + " before)"
                        : "";
        String from =
                r.baseRound() == 0 && s.startCheckpoint() == null
                        ? "the run's start"
                        : "checkpoint round " + r.baseRound();
        switch (r.source()) {
            case LIVE -> {}
            case ROUND_START_COPY ->
                    log.printf(
                            "train: worker %d's state was restored on executor %s%s from the copy"
                                    + " taken at the start of round %d (%s)%n",
                            w.worker(), w.executor(), moved, round, r.why());
            case REPLAYED -> {
                if (notable || r.replayed() > 0) {
                    log.printf(
                            "train: worker %d's state was rebuilt on executor %s%s for round %d"
                                    + " (%s): replayed exactly from %s (%d round(s))%n",
                            w.worker(), w.executor(), moved, round, r.why(), from, r.replayed());
                }
            }
            case RESET ->
                    log.printf(
                            "train: warning: worker %d's optimizer state was reset to its state at"
                                    + " %s for round %d (%s; the global parameters of round %d are"
                                    + " gone, so it could not be replayed exactly)%n",
                            w.worker(), from, round, r.why(), r.missingRound());
        }
    }

    /** Adds an evaluation's keys (prefixed {@code eval_}) to {@code record}. */
    void addEvaluation(ObjectNode record, Evaluator.Metrics m) {
        record.put("eval_loss", m.loss());
        m.toJson().fields().forEachRemaining(e -> record.set("eval_" + e.getKey(), e.getValue()));
        if (firstEval == null) {
            firstEval = m.loss();
        }
        lastEval = m.loss();
    }

    /** The round's progress line. */
    void progress(long round, long rounds, ObjectNode record) {
        double elapsed = (System.nanoTime() - loopStart) / 1e9;
        double eta = elapsed / (round - s.startRound()) * (rounds - round);
        log.printf(
                "train: round %d/%d  loss %.4f%s  lr %.2e  %,.0f tokens/s  elapsed %s  ETA %s%s%n",
                round,
                rounds,
                record.path("loss").asDouble(Double.NaN),
                termsNote(terms),
                record.path("lr").asDouble(),
                roundTokens / roundSeconds,
                clock(elapsed),
                clock(eta),
                record.has("eval_loss")
                        ? String.format("  validation %.4f", record.path("eval_loss").asDouble())
                        : "");
    }

    /** The run's result. */
    TrainJob.Result result(long firstRound, long lastRound, String checkpoint) {
        return new TrainJob.Result(
                s.output().toString(),
                firstRound,
                lastRound,
                lastRound * c.localSteps(),
                tokens,
                firstEval,
                lastEval,
                lastLoss,
                checkpoint,
                (System.nanoTime() - s.started()) / 1e9);
    }

    /** "mlm loss NaN, nsp loss 0.693": a worker's round's loss terms. */
    private static String describeTerms(List<StepResult.TermSum> terms) {
        StringBuilder b = new StringBuilder();
        for (StepResult.TermSum t : terms) {
            b.append(b.length() > 0 ? ", " : "")
                    .append(t.name())
                    .append(" loss ")
                    .append(String.format(Locale.ROOT, "%.4g", t.mean()));
        }
        return b.toString();
    }

    private static String termsNote(Map<String, StepResult.TermSum> terms) {
        if (terms.size() < 2) {
            return "";
        }
        StringBuilder b = new StringBuilder(" (");
        terms.values()
                .forEach(
                        t ->
                                b.append(b.length() > 2 ? ", " : "")
                                        .append(t.name())
                                        .append(' ')
                                        .append(String.format(Locale.ROOT, "%.3f", t.mean())));
        return b.append(')').toString();
    }

    /** h:mm:ss. */
    static String clock(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long sec = Math.round(seconds);
        return String.format("%d:%02d:%02d", sec / 3600, sec / 60 % 60, sec % 60);
    }
}
