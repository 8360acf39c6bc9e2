/**
 * Language-model losses over logits {@code (B, T, V)} and labels {@code (B, T)} with ignore index
 * -100: cross-entropy averaged over the counted tokens only, and SMILE (subset-masked MLE, Yue et
 * al. 2023, "Semipermeable Maximum Likelihood Estimation", see {@link
 * dev.lmspark.model.loss.SmileLoss}) with its first-token-MLE option and the random-subset and
 * reverse-subset variants.
 */
package dev.lmspark.model.loss;
