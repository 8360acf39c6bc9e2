/**
 * The prepared-dataset contract (see {@code docs/dataset-format.md}): {@link
 * dev.lmspark.spark.data.PreparedDataset} reads and validates a dataset's {@code manifest.json} on
 * the driver and travels to executors as a serializable snapshot; {@link
 * dev.lmspark.spark.data.ExampleReader} reads a split's rows by {@code example_id} range on an
 * executor with Parquet's column readers and a Hadoop {@code FileSystem} (no Spark SQL), into the
 * flat column arrays of {@link dev.lmspark.spark.data.Examples}.
 */
package dev.lmspark.spark.data;
