/**
 * Spark plumbing shared by the jobs: sessions, Hadoop paths (with the refusal of credentials in
 * URIs), atomic publication of outputs, and reading corpora in every supported input format.
 */
package dev.lmspark.spark;
