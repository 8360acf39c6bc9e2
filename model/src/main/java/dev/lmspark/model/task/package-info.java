/**
 * Pretraining tasks on the trunk: BERT pretraining (MLM + NSP heads, Hugging Face {@code
 * BertForPreTraining}, with the loss from raw text), the rotary masked LM (the XLM framework's
 * {@code RotaryTransformerMLMModel}) and causal LM heads.
 */
package dev.lmspark.model.task;
