/**
 * The transformer trunk, written from DJL primitives: learned or rotary positions, optional token
 * types, bidirectional or causal attention that honours the padding mask, pre- or post-LN,
 * LayerNorm or RMSNorm, GELU MLP or SwiGLU. {@link dev.lmspark.model.nn.Functional} holds the
 * layers that are one fused engine kernel each (linear, GELU, LayerNorm, embedding look-up,
 * dropout); the rest (attention, RMSNorm, rotary) is composed of DJL operations. Parameters are
 * named NDArrays (lmspark names), so checkpoints and Hugging Face export are plain renamings. The
 * trunk computes in its parameters' type: float32, or bfloat16 ({@link
 * dev.lmspark.model.nn.Precision}).
 */
package dev.lmspark.model.nn;
