/** Checkpoint formats through streams (no Hadoop types): safetensors files of named tensors. */
package dev.lmspark.model.io;
