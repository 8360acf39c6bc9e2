/**
 * {@code lmspark generate}: text from a checkpoint, on the driver (Spark only to read a dataset's
 * prediction rows). {@link dev.lmspark.generate.GenerateJob} holds the config and the run; {@code
 * GenerateChecks} refuses what the model or tokenizer cannot serve before any weight is read;
 * {@code GenerationRun} generates from prompts, unconditionally, or from {@code PredictionRows}.
 */
package dev.lmspark.generate;
