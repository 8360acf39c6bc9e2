/**
 * The transformer trunk, written from DJL primitives (matMul, softmax, erf, normalization by hand):
 * learned or rotary positions, optional token types, bidirectional or causal attention that honours
 * the padding mask, pre- or post-LN, LayerNorm or RMSNorm, GELU MLP or SwiGLU. Parameters are named
 * NDArrays (lmspark names), so checkpoints and Hugging Face export are plain renamings.
 */
package dev.lmspark.model.nn;
