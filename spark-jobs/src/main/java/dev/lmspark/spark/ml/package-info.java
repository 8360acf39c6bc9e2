/**
 * The data-preparation stages as Spark ML {@code Transformer}s with typed, validated, defaulted and
 * saveable {@code Param}s: {@link dev.lmspark.spark.ml.TokenizeStage}, {@link
 * dev.lmspark.spark.ml.FimStage}, {@link dev.lmspark.spark.ml.NspPairingStage}, {@link
 * dev.lmspark.spark.ml.PackStage}, {@link dev.lmspark.spark.ml.MaskStage}, {@link
 * dev.lmspark.spark.ml.PadStage} and {@link dev.lmspark.spark.ml.Seq2SeqStage}. They compose in a
 * {@code Pipeline}; {@code prepare} is a thin wrapper that builds one.
 *
 * <p>Between stages, "sequence" rows carry {@code split}, {@code doc_id}, {@code seq} (the
 * sequence's index within its document, or the window's index within its split for causal packing),
 * {@code ids}, and as they apply {@code word_start}, {@code type_ids}, {@code next_sentence_label},
 * {@code input_ids} and {@code labels} (see {@link dev.lmspark.spark.ml.Sequences}). Every random
 * choice is keyed on (seed, doc_id, seq), so the output does not depend on partitioning or retries.
 */
package dev.lmspark.spark.ml;
