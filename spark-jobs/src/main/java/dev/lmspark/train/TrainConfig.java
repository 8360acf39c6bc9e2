package dev.lmspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.nn.Precision;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.train.TrainingLoss;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything {@code train} takes, validated on construction (before Spark starts), each error
 * naming its flag and value. Recorded in every checkpoint's {@code trainer_state.json} so that
 * {@code --resume} continues the same run.
 *
 * @param data the prepared dataset directory
 * @param output the training output directory (checkpoints, metrics.jsonl)
 * @param model a preset name or a model config JSON file; null: from {@code initFrom}, else by
 *     objective ({@code bert-mini} for mlm, {@code llama-tiny} for clm)
 * @param initFrom an lmspark checkpoint or a Hugging Face model folder to start from, or null
 * @param objective {@code mlm} or {@code clm}; null: the dataset's
 * @param workers parallel workers (Spark tasks per round)
 * @param rounds rounds to train (0: from {@code maxTokens}, else one epoch)
 * @param localSteps inner optimizer steps per worker per round (H)
 * @param batchSize rows per micro-batch per worker
 * @param gradAccum micro-batches per step
 * @param maxTokens stop once this many tokens were trained on (0: no limit)
 * @param lr peak inner learning rate
 * @param lrSchedule constant, linear or cosine, after warm-up
 * @param warmupSteps inner steps of linear warm-up from 0
 * @param weightDecay AdamW's decoupled weight decay
 * @param clipNorm global gradient-norm bound (0: none)
 * @param seed root seed of initialisation, data order, dropout and masking
 * @param outerOptimizer {@code average} or {@code nesterov}
 * @param outerLr the outer learning rate (nesterov)
 * @param outerMomentum the outer momentum (nesterov)
 * @param innerLrScaling how the workers' inner learning rate follows from {@code lr}: {@code auto}
 *     ({@code sqrt} with average, {@code none} with nesterov), {@code sqrt} (× √workers) or {@code
 *     none}; null (a run recorded before the flag existed) is {@code none}
 * @param deltaPrecision how the workers' updates travel to the combine: {@code fp32}, {@code bf16}
 *     or {@code int8} (the last two with error feedback, see {@link DeltaCodec}); null (a run
 *     recorded before the flag existed) is {@code fp32}
 * @param loss mle or a SMILE variant
 * @param precision fp32 or bf16
 * @param dynamicMasking re-mask MLM rows every epoch after the first
 * @param checkpointEvery rounds between checkpoints (0: only the last round)
 * @param keepCheckpoints how many checkpoints to keep (0: all)
 * @param evalEvery rounds between validation evaluations (0: none)
 * @param evalBatchSize rows per evaluation batch
 */
public record TrainConfig(
        String data,
        String output,
        String model,
        String initFrom,
        String objective,
        int workers,
        int rounds,
        int localSteps,
        int batchSize,
        int gradAccum,
        long maxTokens,
        double lr,
        String lrSchedule,
        long warmupSteps,
        double weightDecay,
        double clipNorm,
        long seed,
        String outerOptimizer,
        double outerLr,
        double outerMomentum,
        String innerLrScaling,
        String deltaPrecision,
        String loss,
        String precision,
        boolean dynamicMasking,
        int checkpointEvery,
        int keepCheckpoints,
        int evalEvery,
        int evalBatchSize)
        implements Serializable {

    static final ObjectMapper JSON =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    /** The flags that may differ on {@code --resume} (they extend or place the run). */
    static final Set<String> EXTENSIBLE = Set.of("rounds", "max_tokens");

    /** The flags that change nothing about the trajectory. */
    static final Set<String> NEUTRAL =
            Set.of(
                    "data",
                    "output",
                    "checkpoint_every",
                    "keep_checkpoints",
                    "eval_every",
                    "eval_batch_size");

    public TrainConfig {
        positive("--workers", workers);
        require(rounds >= 0, "--rounds " + rounds + " must be ≥ 0 (0: one epoch, or --max-tokens)");
        positive("--local-steps", localSteps);
        positive("--batch-size", batchSize);
        positive("--grad-accum", gradAccum);
        require(maxTokens >= 0, "--max-tokens " + maxTokens + " must be ≥ 0");
        require(lr > 0 && Double.isFinite(lr), "--lr " + lr + " must be above 0");
        named(() -> LearningRateSchedule.Kind.fromCliName(lrSchedule));
        require(warmupSteps >= 0, "--warmup-steps " + warmupSteps + " must be ≥ 0");
        require(
                weightDecay >= 0 && Double.isFinite(weightDecay),
                "--weight-decay " + weightDecay + " must be ≥ 0");
        require(
                clipNorm >= 0 && Double.isFinite(clipNorm),
                "--clip-norm " + clipNorm + " must be ≥ 0 (0: no clipping)");
        require(
                outerOptimizer.equals("average") || outerOptimizer.equals("nesterov"),
                "unknown --outer-optimizer '" + outerOptimizer + "'; use average or nesterov");
        require(
                outerLr > 0 && Double.isFinite(outerLr),
                "--outer-lr " + outerLr + " must be above 0");
        require(
                outerMomentum >= 0 && outerMomentum < 1,
                "--outer-momentum " + outerMomentum + " must be in [0, 1)");
        if (innerLrScaling == null) {
            innerLrScaling = "none";
        }
        require(
                List.of("auto", "sqrt", "none").contains(innerLrScaling),
                "unknown --inner-lr-scaling '" + innerLrScaling + "'; use auto, sqrt or none");
        if (deltaPrecision == null) {
            deltaPrecision = "fp32"; // a run recorded before the flag existed
        }
        require(
                List.of("fp32", "bf16", "int8").contains(deltaPrecision),
                "unknown --delta-precision '" + deltaPrecision + "'; use fp32, bf16 or int8");
        named(() -> TrainingLoss.Kind.fromCliName(loss));
        named(() -> Precision.parse(precision));
        require(
                objective == null || objective.equals("mlm") || objective.equals("clm"),
                "unknown --objective '" + objective + "'; use mlm or clm");
        require(checkpointEvery >= 0, "--checkpoint-every " + checkpointEvery + " must be ≥ 0");
        require(keepCheckpoints >= 0, "--keep-checkpoints " + keepCheckpoints + " must be ≥ 0");
        require(evalEvery >= 0, "--eval-every " + evalEvery + " must be ≥ 0");
        positive("--eval-batch-size", evalBatchSize);
    }

    /** A flag value parsed by the model library, whose refusal is the user's (exit 2). */
    private static void named(Runnable parse) {
        try {
            parse.run();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    private static void positive(String flag, long value) {
        require(value >= 1, flag + " " + value + " must be at least 1");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new BadInputException(message);
        }
    }

    /** The schedule's shape. */
    public LearningRateSchedule.Kind scheduleKind() {
        return LearningRateSchedule.Kind.fromCliName(lrSchedule);
    }

    /**
     * The factor from {@code --lr} to the workers' inner learning rate. With {@code average}, K
     * workers' AdamW updates, each normalised by its own (noisier, batch-B) second moments, average
     * to about 1/√K of one worker's update at the global batch K·B where gradient noise dominates;
     * × √K restores it (the square-root scaling rule for Adam, Malladi et al. 2022), so {@code
     * --lr} means the learning rate of the global batch. Nesterov's outer step already amplifies
     * the averaged update (outer lr / (1 − momentum) = 1.4 at the defaults), as in DiLoCo, so
     * {@code auto} leaves its inner rate at {@code --lr}.
     */
    public double innerLrScale() {
        boolean sqrt =
                innerLrScaling.equals("sqrt")
                        || (innerLrScaling.equals("auto") && outerOptimizer.equals("average"));
        return sqrt ? Math.sqrt(workers) : 1.0;
    }

    /** The token loss, its random draws keyed by the run's seed. */
    public TrainingLoss trainingLoss() {
        return new TrainingLoss(TrainingLoss.Kind.fromCliName(loss), seed);
    }

    /** The compute precision. */
    public Precision computePrecision() {
        return Precision.parse(precision);
    }

    /** Rows each worker trains on per round: local steps × grad-accum × batch size. */
    /** {@link #deltaPrecision} as the codec's enum. */
    DeltaCodec.Precision deltaCodec() {
        return DeltaCodec.Precision.parse(deltaPrecision);
    }

    public long examplesPerWorkerRound() {
        return (long) localSteps * gradAccum * batchSize;
    }

    /** The config as a JSON object (snake_case keys, as trainer_state.json records it). */
    public JsonNode toJson() {
        return JSON.valueToTree(this);
    }

    /** The config recorded in a trainer_state.json. */
    public static TrainConfig fromJson(JsonNode node) {
        try {
            return JSON.treeToValue(node, TrainConfig.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy with the output, data and scheduling flags of {@code given}, for a resumed run. */
    TrainConfig resumedWith(TrainConfig given, Set<String> explicit) {
        Map<String, Object> fields = new LinkedHashMap<>();
        JSON.convertValue(toJson(), Map.class).forEach((k, v) -> fields.put(String.valueOf(k), v));
        Map<?, ?> newer = JSON.convertValue(given.toJson(), Map.class);
        for (String key : explicit) {
            if (NEUTRAL.contains(key) || EXTENSIBLE.contains(key)) {
                fields.put(key, newer.get(key));
            }
        }
        fields.put("data", given.data());
        fields.put("output", given.output());
        return JSON.convertValue(fields, TrainConfig.class);
    }

    /**
     * The explicitly given flags (snake_case) whose values differ from this recorded config and
     * would change the trajectory; {@code --rounds} and {@code --max-tokens} may only grow.
     */
    List<String> conflicts(TrainConfig given, Set<String> explicit) {
        Map<?, ?> recorded = JSON.convertValue(toJson(), Map.class);
        Map<?, ?> newer = JSON.convertValue(given.toJson(), Map.class);
        List<String> out = new java.util.ArrayList<>();
        for (String key : explicit) {
            if (NEUTRAL.contains(key) || !recorded.containsKey(key)) {
                continue;
            }
            Object was = recorded.get(key);
            Object now = newer.get(key);
            if (EXTENSIBLE.contains(key)) {
                long a = ((Number) was).longValue();
                long b = ((Number) now).longValue();
                if (b < a && b != 0) {
                    out.add(
                            "--"
                                    + key.replace('_', '-')
                                    + " "
                                    + b
                                    + " is below the recorded "
                                    + a
                                    + " (it may only grow, to extend the run)");
                }
            } else if (!java.util.Objects.equals(String.valueOf(was), String.valueOf(now))) {
                out.add(
                        "--"
                                + key.replace('_', '-')
                                + " "
                                + now
                                + " differs from the recorded "
                                + was);
            }
        }
        return out;
    }
}
