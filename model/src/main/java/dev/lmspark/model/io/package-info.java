/**
 * Model files through streams (no Hadoop types; {@link dev.lmspark.model.io.InputFolder} and {@link
 * dev.lmspark.model.io.OutputFolder} stand for a directory): safetensors files of named tensors,
 * lmspark checkpoints of a model ({@link dev.lmspark.model.io.ModelCheckpoint}) and of an
 * optimizer's state ({@link dev.lmspark.model.io.OptimizerCheckpoint}), and Hugging Face model
 * folders ({@link dev.lmspark.model.io.HuggingFaceFolder}), both ways.
 */
package dev.lmspark.model.io;
