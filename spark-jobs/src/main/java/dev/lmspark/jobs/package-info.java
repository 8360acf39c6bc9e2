/**
 * The Spark applications behind the commands. Each job takes a validated config record and a
 * session, writes its output atomically, and returns a small summary the command prints.
 */
package dev.lmspark.jobs;
