/**
 * Deterministic randomness: every random choice in lmspark is a pure function of a root seed and
 * the indices of what is being decided (document, position, worker, round), never of global state,
 * so the same input and seed give the same output however Spark partitions or retries the work.
 */
package dev.lmspark.data.random;
