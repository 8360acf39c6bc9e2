/**
 * The training core, free of Spark: {@link dev.lmspark.model.train.PretrainingTask} (what the three
 * pretraining models — BERT MLM(+NSP), the rotary masked LM and the causal LM — have in common for
 * training: named parameters and a loss from a {@link dev.lmspark.model.train.ShardBatch} of
 * prepared-dataset columns), {@link dev.lmspark.model.train.TrainingLoss} (MLE or a SMILE variant)
 * and {@link dev.lmspark.model.train.TrainingStep} (forward, loss, backward, global-norm clipping,
 * AdamW or bf16 mixed precision, learning-rate schedule), which the distributed trainer, the tests
 * and the train-step benchmark all call.
 *
 * <p><b>One step at a time per JVM.</b> DJL allows one open {@code GradientCollector} per JVM, and
 * dropout draws from the engine's generator (which is shared by the whole process) after re-seeding
 * it from the step's own (seed, …) stream. {@link dev.lmspark.model.train.TrainingStep#step}
 * therefore holds a JVM-wide lock from the first forward pass to the optimizer update: several
 * trainers in one JVM (Spark local mode, several workers) take turns step by step, and each step's
 * dropout masks depend only on its own seed path.
 */
package dev.lmspark.model.train;
