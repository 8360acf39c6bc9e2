package dev.lmspark.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.lmspark.model.Devices;
import dev.lmspark.model.nn.Functional;
import dev.lmspark.model.nn.Precision;
import dev.lmspark.model.optim.AdamW;
import dev.lmspark.model.optim.LearningRateSchedule;
import dev.lmspark.model.optim.MixedPrecision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * One optimizer step of a {@link PretrainingTask}, the way every lmspark trainer takes it: for each
 * micro-batch the task's loss (scaled by 1/A for A micro-batches, so the gradient is their mean) is
 * computed with dropout and back-propagated; then the global gradient norm is clipped to {@code
 * clipNorm} ({@code torch.nn.utils.clip_grad_norm_}), {@link AdamW} updates the parameters at the
 * schedule's rate for the step, and the gradients are cleared. With {@link Precision#BF16} the
 * passes run on bfloat16 working copies and the update on the float32 parameters ({@link
 * MixedPrecision}).
 *
 * <p>The task's parameters are updated in place and the optimizer's state (AdamW moments and step
 * counts, by parameter name) lives on this object's manager: {@link #optimizer()} reads and
 * restores it. Every temporary of a step lives in an {@link NDScope} closed before {@link #step}
 * returns.
 *
 * <p><b>Threads.</b> {@link #step} holds a JVM-wide lock from the first forward pass to the update
 * (see the package documentation): DJL permits one gradient collector per JVM, and dropout re-seeds
 * the engine's process-wide generator. Trainers sharing a JVM take turns, step by step.
 */
public final class TrainingStep implements AutoCloseable {
    private static final ReentrantLock ONE_STEP_PER_JVM = new ReentrantLock(true);

    private final PretrainingTask model;
    private final TrainingLoss loss;
    private final LearningRateSchedule schedule;
    private final float clipNorm;
    private final AdamW optimizer;
    private final boolean ownsOptimizer;
    private final MixedPrecision precision;

    private TrainingStep(Builder b, NDManager manager) {
        model = b.model;
        loss = b.loss;
        schedule = b.schedule;
        clipNorm = b.clipNorm > 0 ? b.clipNorm : Float.POSITIVE_INFINITY;
        ownsOptimizer = b.optimizer == null;
        optimizer =
                ownsOptimizer
                        ? new AdamW(manager, b.beta1, b.beta2, b.eps, b.weightDecay, b.decays)
                        : b.optimizer;
        precision = new MixedPrecision(b.precision, model.parameters(), manager);
    }

    /** A builder; the model and the schedule are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** The model being trained (its parameters are the float32 masters). */
    public PretrainingTask model() {
        return model;
    }

    /** The inner optimizer, whose {@code stateDict} is what a checkpoint of this trainer holds. */
    public AdamW optimizer() {
        return optimizer;
    }

    /** The learning-rate schedule. */
    public LearningRateSchedule schedule() {
        return schedule;
    }

    /**
     * One step over {@code microBatches} (gradient accumulation over all of them).
     *
     * @param microBatches one or more batches; their mean gradient is applied
     * @param step the global step index: the schedule's rate for it is used
     * @param dropout the step's dropout generator (seed it from (seed, …, step) for a reproducible
     *     run); null trains without dropout
     */
    public StepResult step(List<ShardBatch> microBatches, long step, SplittableRandom dropout) {
        if (microBatches.isEmpty()) {
            throw new IllegalArgumentException("a step needs at least one batch");
        }
        double lr = schedule.at(step);
        long tokens = 0;
        long examples = 0;
        Map<String, StepResult.TermSum> terms = new LinkedHashMap<>();
        float norm;
        ONE_STEP_PER_JVM.lock();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            PretrainingTask compute =
                    precision.precision() == Precision.FP32
                            ? model
                            : model.withParameters(precision.working());
            float scale = 1f / microBatches.size();
            try (GradientCollector gc = Devices.engine().newGradientCollector()) {
                for (ShardBatch batch : microBatches) {
                    TaskLoss l = compute.loss(batch, loss, step, dropout);
                    NDArray total = l.total();
                    gc.backward(
                            microBatches.size() == 1
                                    ? total
                                    : total.mul(Functional.scalar(total, scale)));
                    for (TaskLoss.Term t : l.terms()) {
                        StepResult.TermSum sum =
                                new StepResult.TermSum(
                                        t.name(),
                                        (double) t.mean().getFloat() * t.count(),
                                        t.count());
                        terms.merge(t.name(), sum, StepResult.TermSum::plus);
                    }
                    tokens += batch.tokens();
                    examples += batch.rows();
                }
            }
            norm = precision.step(optimizer, (float) lr, clipNorm);
        } finally {
            ONE_STEP_PER_JVM.unlock();
        }
        return new StepResult(step, lr, norm, tokens, examples, new ArrayList<>(terms.values()));
    }

    /**
     * The loss of {@code batch} in inference mode (no dropout, no gradient), per term; the
     * parameters are the current float32 ones.
     */
    public List<StepResult.TermSum> evaluate(ShardBatch batch) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            List<StepResult.TermSum> out = new ArrayList<>();
            for (TaskLoss.Term t : model.loss(batch, loss, 0, null).terms()) {
                out.add(
                        new StepResult.TermSum(
                                t.name(), (double) t.mean().getFloat() * t.count(), t.count()));
            }
            return out;
        }
    }

    /**
     * Frees the working copies and the optimizer's state (unless the optimizer was given with
     * {@link Builder#optOptimizer}); never the model's parameters.
     */
    @Override
    public void close() {
        precision.close();
        if (ownsOptimizer) {
            optimizer.close();
        }
    }

    /** Builds a {@link TrainingStep}; defaults are Hugging Face Trainer's. */
    public static final class Builder {
        private PretrainingTask model;
        private LearningRateSchedule schedule;
        private TrainingLoss loss = TrainingLoss.mle();
        private float clipNorm = 1f;
        private float weightDecay = 0.01f;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float eps = 1e-8f;
        private Predicate<String> decays = AdamW::decaysByDefault;
        private Precision precision = Precision.FP32;
        private AdamW optimizer;

        private Builder() {}

        /** The model to train; its parameters (float32) are updated in place. */
        public Builder setModel(PretrainingTask model) {
            this.model = model;
            return this;
        }

        /** The learning rate by global step. */
        public Builder setSchedule(LearningRateSchedule schedule) {
            this.schedule = schedule;
            return this;
        }

        /** The token loss (default MLE). */
        public Builder optLoss(TrainingLoss loss) {
            this.loss = loss;
            return this;
        }

        /** The global gradient-norm bound (default 1.0); 0 or less: no clipping. */
        public Builder optClipNorm(float clipNorm) {
            this.clipNorm = clipNorm;
            return this;
        }

        /** AdamW's decoupled weight decay (default 0.01; none on biases and norm weights). */
        public Builder optWeightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** AdamW's moment decays (default 0.9, 0.999). */
        public Builder optBetas(float beta1, float beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /** AdamW's denominator term (default 1e-8). */
        public Builder optEps(float eps) {
            this.eps = eps;
            return this;
        }

        /** Which parameter names get weight decay (default: not biases and norm weights). */
        public Builder optDecays(Predicate<String> decays) {
            this.decays = decays;
            return this;
        }

        /**
         * Continue with an existing optimizer and its state (its own hyper-parameters apply; the
         * betas, eps, weight decay and decay rule set here are then unused). The step does not
         * close it. Default: a fresh AdamW.
         */
        public Builder optOptimizer(AdamW optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /** The compute precision (default float32). */
        public Builder optPrecision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /**
         * The step, its optimizer state on a sub-manager of {@code manager}.
         *
         * @throws IllegalArgumentException naming a missing or invalid setting
         */
        public TrainingStep build(NDManager manager) {
            if (model == null || schedule == null) {
                throw new IllegalArgumentException("a training step needs a model and a schedule");
            }
            if (!(weightDecay >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException(
                        "AdamW weight decay "
                                + weightDecay
                                + " must be ≥ 0 and betas "
                                + beta1
                                + ", "
                                + beta2
                                + " in [0, 1)");
            }
            return new TrainingStep(this, manager);
        }
    }
}
