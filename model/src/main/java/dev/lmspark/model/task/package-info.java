/**
 * Pretraining tasks on the trunk: BERT pretraining (MLM + NSP heads, seed 004's API) and, as the
 * model issue continues, causal LM heads.
 */
package dev.lmspark.model.task;
