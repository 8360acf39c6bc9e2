/**
 * Model configuration: a small JSON-serialisable record and the named presets ({@code bert-tiny} …
 * {@code bert-base}, {@code rotary-mlm-small|base}, {@code llama-tiny|small|base}).
 */
package dev.lmspark.model.config;
