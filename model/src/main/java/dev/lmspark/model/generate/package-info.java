/**
 * Text generation from trained models: the XLM framework's iterative unmasking for masked LMs
 * ({@link dev.lmspark.model.generate.IterativeUnmasking}, conditional, unconditional and batched
 * over seq2seq prediction rows, with an optional per-step top-k history), sampling from causal LMs
 * with a KV cache and fill-in-the-middle infilling ({@link
 * dev.lmspark.model.generate.CausalSampler}), and the sampling primitives both share ({@link
 * dev.lmspark.model.generate.TokenSampler}: greedy, temperature, top-k, top-p). Every random draw
 * comes from {@code Seeds.random(seed, row, step)}, so a row's result does not depend on the rows
 * generated beside it.
 */
package dev.lmspark.model.generate;
