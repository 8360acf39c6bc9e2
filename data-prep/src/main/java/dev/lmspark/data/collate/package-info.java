/**
 * Collation: turning tokenized documents into model-ready examples — BERT masking (Hugging Face's
 * Bernoulli collator and Google BERT's fixed count, whole words optional), Google BERT's
 * next-sentence pairs, sentence packing, causal-LM packing, fill-in-the-middle (Bavarian et al.
 * 2022, document and context level) and the seq2seq rows of masked diffusion models.
 *
 * <p>Every function here is pure: randomness comes in as a generator derived from (seed, document,
 * position) by the caller, so the same inputs always give the same examples.
 */
package dev.lmspark.data.collate;
