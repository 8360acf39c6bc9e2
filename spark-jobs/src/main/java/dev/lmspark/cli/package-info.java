/**
 * The {@code lmspark} command line: picocli commands that validate their flags, start Spark only
 * when the flags are sound, call a job in {@code dev.lmspark.jobs}, and print its summary. Options
 * live here; logic lives in the jobs.
 */
package dev.lmspark.cli;
