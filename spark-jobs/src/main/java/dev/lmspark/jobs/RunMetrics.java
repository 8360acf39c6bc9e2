package dev.lmspark.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.lmspark.data.BadInputException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-round records of a train output's {@value #FILE}, as {@code report} reads them: one JSON
 * object per line with numeric {@code round}, {@code step} (global optimizer steps), {@code tokens}
 * (non-padding tokens trained on so far), {@code loss} (mean training loss of the round, nats) and
 * {@code lr}; optionally training terms ({@code mlm_loss}, {@code nsp_loss}, {@code clm_loss} …),
 * {@code tokens_per_s}, and after an evaluation {@code eval_loss} (the MLM or CLM term) with the
 * other {@code evaluate} keys prefixed {@code eval_}. Round 0, present only when the run evaluates,
 * holds the evaluation of the initial parameters: its {@code loss} is that evaluation's, so
 * training curves start at round 1.
 *
 * <p>Other keys, and keys whose values are not numbers, are kept out of the way rather than
 * refused, so records of newer trainers still read. A run still in progress may have a partial last
 * line: it is skipped with a warning. Every other malformed line is an error naming its line
 * number.
 */
public final class RunMetrics {
    /** The file name under a train output. */
    public static final String FILE = "metrics.jsonl";

    /** Keys every record carries, as numbers. */
    public static final List<String> REQUIRED = List.of("round", "step", "tokens", "loss", "lr");

    /** The prefix of evaluation keys. */
    public static final String EVAL = "eval_";

    /** Derived per round: {@code job_s − compute_s}, the Spark job beyond the slowest worker. */
    public static final String JOB_BEYOND_COMPUTE = "job_s-compute_s";

    /**
     * Derived per round: the combine of the updates with the outer step — {@code combine_s} (the
     * slowest combine task), or in runs of lmspark before the sharded combine, {@code aggregate_s +
     * outer_s} (the driver's).
     */
    public static final String COMBINE = "combine";

    /** How many workers have a {@code worker_compute_s} entry in some round. */
    public int workers() {
        int n = 0;
        for (Round r : rounds) {
            while (r.values().containsKey("worker_compute_s[" + n + "]")) {
                n++;
            }
        }
        return n;
    }

    /** A loss term's key: {@code mlm_loss}, {@code eval_clm_loss} … (group 1 is the term name). */
    private static final Pattern TERM = Pattern.compile("(?:eval_)?([a-z0-9]+)_loss");

    private static final ObjectMapper JSON =
            JsonMapper.builder()
                    // A diverged run may log NaN or Infinity, which Java's JSON writers emit bare.
                    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                    // Two records run together on one line are a damaged file, not one record.
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .build();

    /**
     * One round's record: its numeric keys in file order.
     *
     * @param values key → value; NaN and infinities as logged
     */
    public record Round(Map<String, Double> values) {
        public Round {
            values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        }

        /** The round number: 0 for the evaluation of the initial parameters, then 1, 2 … */
        public int round() {
            return (int) get("round");
        }

        /** Global optimizer steps at the end of the round. */
        public long step() {
            return (long) get("step");
        }

        /** Tokens trained on by the end of the round. */
        public long tokens() {
            return (long) get("tokens");
        }

        /** Whether this round trained (round 0 only evaluated the initial parameters). */
        public boolean trained() {
            return round() >= 1;
        }

        /** Whether the round evaluated. */
        public boolean evaluated() {
            return values.containsKey("eval_loss");
        }

        /** The value of {@code key}, NaN when absent. */
        public double get(String key) {
            return values.getOrDefault(key, Double.NaN);
        }
    }

    private final List<Round> rounds;
    private final List<String> warnings;

    private RunMetrics(List<Round> rounds, List<String> warnings) {
        this.rounds = List.copyOf(rounds);
        this.warnings = List.copyOf(warnings);
    }

    /**
     * Parses the text of a metrics file.
     *
     * @param source the file, for messages
     * @throws BadInputException when no complete record exists or a line other than the last is not
     *     a record
     */
    public static RunMetrics parse(String text, String source) {
        List<String> lines = text.lines().toList();
        int last = lines.size() - 1;
        while (last >= 0 && lines.get(last).isBlank()) {
            last--;
        }
        TreeMap<Integer, Round> byRound = new TreeMap<>();
        List<String> warnings = new ArrayList<>();
        LinkedHashSet<Integer> repeated = new LinkedHashSet<>();
        for (int i = 0; i <= last; i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                if (i == last) {
                    warnings.add(
                            source
                                    + " line "
                                    + (i + 1)
                                    + " is incomplete (the run may still be writing it); it was"
                                    + " left out");
                    continue;
                }
                throw new BadInputException(
                        source
                                + " line "
                                + (i + 1)
                                + " is not JSON ("
                                + e.getOriginalMessage()
                                + "); repair or delete that line (each line holds one round's"
                                + " metrics object, as train writes it)",
                        e);
            }
            Round round = record(node, source, i + 1);
            if (byRound.put(round.round(), round) != null) {
                repeated.add(round.round());
            }
        }
        if (!repeated.isEmpty()) {
            // train drops the rows after its checkpoint before resuming, so this is a run resumed
            // by
            // something else; the later records are the ones the parameters came from.
            warnings.add(
                    source
                            + " holds round(s) "
                            + repeated
                            + " more than once; the last record of each is used");
        }
        if (byRound.isEmpty()) {
            throw new BadInputException(
                    source
                            + " holds no complete metrics record yet; wait for the run's first round to finish,"
                            + " or give another train --output directory");
        }
        return new RunMetrics(new ArrayList<>(byRound.values()), warnings);
    }

    private static Round record(JsonNode node, String source, int line) {
        String where = source + " line " + line;
        if (!node.isObject()) {
            throw new BadInputException(
                    where
                            + " is "
                            + node.getNodeType().toString().toLowerCase()
                            + ", not a JSON object; repair or delete that line (each line holds one"
                            + " round's metrics object, as train writes it)");
        }
        for (String key : REQUIRED) {
            if (!node.path(key).isNumber()) {
                throw new BadInputException(
                        where
                                + " has no numeric '"
                                + key
                                + "' (every record needs "
                                + String.join(", ", REQUIRED)
                                + "); repair or delete that line");
            }
        }
        if (node.get("round").asDouble() < 0 || !Double.isFinite(node.get("round").asDouble())) {
            throw new BadInputException(
                    where + " has round " + node.get("round") + "; rounds count from 0");
        }
        Map<String, Double> values = new LinkedHashMap<>();
        node.fields()
                .forEachRemaining(
                        e -> {
                            if (e.getValue().isNumber()) {
                                values.put(e.getKey(), e.getValue().asDouble());
                            } else if (e.getValue().isArray()) {
                                // Per-worker values (worker_compute_s, worker_delta_norm):
                                // key[0], key[1], … in worker-id order.
                                for (int i = 0; i < e.getValue().size(); i++) {
                                    if (e.getValue().get(i).isNumber()) {
                                        values.put(
                                                e.getKey() + "[" + i + "]",
                                                e.getValue().get(i).asDouble());
                                    }
                                }
                            }
                        });
        // What a round cost beyond the slowest worker's training, and the driver's own share.
        if (values.containsKey("job_s") && values.containsKey("compute_s")) {
            values.put(JOB_BEYOND_COMPUTE, values.get("job_s") - values.get("compute_s"));
        }
        if (values.containsKey("combine_s")) {
            values.put(COMBINE, values.get("combine_s"));
        } else if (values.containsKey("aggregate_s") && values.containsKey("outer_s")) {
            values.put(COMBINE, values.get("aggregate_s") + values.get("outer_s"));
        }
        return new Round(values);
    }

    /** The records, one per round, by round number. */
    public List<Round> rounds() {
        return rounds;
    }

    /** What was skipped or replaced while reading, one line each. */
    public List<String> warnings() {
        return warnings;
    }

    /** The rounds that trained (round ≥ 1). */
    public List<Round> trained() {
        return rounds.stream().filter(Round::trained).toList();
    }

    /** The rounds that evaluated (carry {@code eval_loss}). */
    public List<Round> evaluated() {
        return rounds.stream().filter(Round::evaluated).toList();
    }

    /**
     * The loss terms logged beside a total, in order of first appearance: for {@code eval} false
     * the training keys such as {@code mlm_loss}, {@code nsp_loss}, {@code clm_loss}; for {@code
     * eval} true the evaluation keys such as {@code eval_mlm_loss} (never {@code eval_loss}).
     */
    public List<String> lossTerms(boolean eval) {
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        for (Round r : eval ? evaluated() : trained()) {
            for (String key : r.values().keySet()) {
                if (TERM.matcher(key).matches()
                        && key.startsWith(EVAL) == eval
                        && !key.equals("loss")
                        && !key.equals("eval_loss")) {
                    keys.add(key);
                }
            }
        }
        return List.copyOf(keys);
    }

    /** Evaluation accuracy keys ({@code eval_mlm_accuracy}, {@code eval_nsp_accuracy} …). */
    public List<String> evalAccuracies() {
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        for (Round r : evaluated()) {
            for (String key : r.values().keySet()) {
                if (key.startsWith(EVAL) && key.endsWith("_accuracy")) {
                    keys.add(key);
                }
            }
        }
        return List.copyOf(keys);
    }

    /** The term a loss key names ({@code mlm} for {@code eval_mlm_loss}), or the key itself. */
    public static String termName(String key) {
        Matcher m = TERM.matcher(key);
        return m.matches() ? m.group(1) : key;
    }

    /**
     * Whether {@code a} and {@code b} hold the same value in every round of {@code rounds} that has
     * {@code a}: then a chart draws only one of them (e.g. {@code eval_loss}, which is always the
     * MLM or CLM term, and {@code eval_mlm_loss}).
     */
    public static boolean same(List<Round> rounds, String a, String b) {
        boolean any = false;
        for (Round r : rounds) {
            if (r.values().containsKey(a)) {
                any = true;
                if (Double.compare(r.get(a), r.get(b)) != 0) {
                    return false;
                }
            }
        }
        return any;
    }

    /**
     * The figures of the report's summary table; null where the run logged none (a figure that was
     * logged as NaN stays NaN: a diverged run shows as one).
     *
     * @param lastRound the highest round number
     * @param steps global optimizer steps at the last round
     * @param tokens tokens trained on by the last round
     * @param firstLoss training loss of the first training round
     * @param lastLoss training loss of the last training round
     * @param evaluations how many rounds evaluated
     * @param firstEvalLoss validation loss of the first evaluation (of the initial parameters when
     *     the run evaluated round 0)
     * @param lastEvalLoss validation loss of the last evaluation
     * @param bestEvalLoss the lowest validation loss (NaN never is)
     * @param bestEvalStep the step at which the lowest validation loss was measured
     * @param meanTokensPerSecond the mean of the rounds' {@code tokens_per_s}
     */
    public record Summary(
            int lastRound,
            long steps,
            long tokens,
            Double firstLoss,
            Double lastLoss,
            int evaluations,
            Double firstEvalLoss,
            Double lastEvalLoss,
            Double bestEvalLoss,
            Long bestEvalStep,
            Double meanTokensPerSecond) {}

    /** The summary figures. */
    public Summary summary() {
        Round end = rounds.get(rounds.size() - 1);
        List<Round> trained = trained();
        List<Round> evaluated = evaluated();
        Round best = null;
        for (Round r : evaluated) {
            double loss = r.get("eval_loss");
            if (!Double.isNaN(loss) && (best == null || loss < best.get("eval_loss"))) {
                best = r;
            }
        }
        OptionalDouble meanSpeed =
                trained.stream()
                        .mapToDouble(r -> r.get("tokens_per_s"))
                        .filter(Double::isFinite)
                        .average();
        return new Summary(
                end.round(),
                end.step(),
                end.tokens(),
                trained.isEmpty() ? null : trained.get(0).get("loss"),
                trained.isEmpty() ? null : trained.get(trained.size() - 1).get("loss"),
                evaluated.size(),
                evaluated.isEmpty() ? null : evaluated.get(0).get("eval_loss"),
                evaluated.isEmpty() ? null : evaluated.get(evaluated.size() - 1).get("eval_loss"),
                best == null ? null : best.get("eval_loss"),
                best == null ? null : best.step(),
                meanSpeed.isPresent() ? meanSpeed.getAsDouble() : null);
    }
}
