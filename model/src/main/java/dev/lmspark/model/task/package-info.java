/**
 * Pretraining tasks on the trunk: BERT pretraining (MLM + NSP heads, seed 004's API, with the loss
 * from raw text), the rotary masked LM (seed 001's {@code RotaryTransformerMLMModel}) and causal LM
 * heads.
 */
package dev.lmspark.model.task;
