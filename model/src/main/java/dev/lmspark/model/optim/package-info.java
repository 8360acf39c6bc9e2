/**
 * Optimization: AdamW with decoupled weight decay whose state is keyed by parameter name (so it can
 * be checkpointed and restored on another JVM), global-norm gradient clipping, and learning-rate
 * schedules with linear warm-up; {@link dev.lmspark.model.optim.MixedPrecision} for bfloat16
 * compute with float32 master weights.
 */
package dev.lmspark.model.optim;
