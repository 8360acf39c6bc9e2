/**
 * Optimization: AdamW with decoupled weight decay whose state is keyed by parameter name (so it can
 * be checkpointed and restored on another JVM), global-norm gradient clipping, and learning-rate
 * schedules with linear warm-up.
 */
package dev.lmspark.model.optim;
