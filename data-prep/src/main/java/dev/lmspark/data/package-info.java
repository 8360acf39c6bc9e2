/**
 * Pure-Java data preparation shared by the Spark jobs and the model: tokenizers, the sample corpus,
 * deterministic randomness. Nothing here imports Spark, so it is testable without a SparkSession.
 */
package dev.lmspark.data;
