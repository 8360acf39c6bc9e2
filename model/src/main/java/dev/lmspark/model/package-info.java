/**
 * lmspark's models on DJL's PyTorch engine: the transformer blocks, pretraining heads, losses,
 * samplers and checkpoint formats. No Spark types: trainers in {@code spark-jobs} drive these.
 */
package dev.lmspark.model;
