package dev.lmspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.data.BadInputException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A checkpoint's {@code trainer_state.json}, typed: what {@link CheckpointWriter} writes and what
 * {@code --resume} ({@link RunStart}) and {@code verify --checkpoint} ({@link TrainCheckpoints})
 * read, so the keys are spelled once (docs/checkpoint-format.md documents them). Unknown keys of
 * newer writers are ignored; keys that older writers lacked read as their documented defaults
 * ({@code data.order} 1: the rotated epochs of runs before the data order had a version).
 *
 * @param formatVersion {@code format_version}
 * @param round the last completed round
 * @param globalStep optimizer steps of each worker so far (round × local steps)
 * @param tokens non-padding tokens trained on so far
 * @param examples rows trained on so far
 * @param rounds the rounds the run planned
 * @param scheduleSteps the learning-rate schedule's length in steps
 * @param data where the data order is
 * @param seed the run's seed
 * @param config the train config
 * @param model the model config, as {@code config.json} holds it
 * @param dataset which dataset the run trains on
 * @param provenance who wrote the checkpoint, when, and the run's id
 * @param files every file of the checkpoint (relative name → size and SHA-256)
 */
record TrainerState(
        int formatVersion,
        long round,
        long globalStep,
        long tokens,
        long examples,
        long rounds,
        long scheduleSteps,
        DataCursor data,
        long seed,
        TrainConfig config,
        JsonNode model,
        DatasetRef dataset,
        JsonNode provenance,
        Map<String, TrainCheckpoints.FileHash> files) {

    /**
     * The data order's position.
     *
     * @param trainExamples rows in the train split
     * @param workers the run's workers
     * @param rowsPerWorkerRound rows a worker trains on a round
     * @param rowsPerWorkerEpoch rows of a worker's block (an epoch of its share)
     * @param nextRow the next row of each worker's block (round × rows a round)
     * @param order the data-order version ({@link DataSchedule})
     */
    record DataCursor(
            long trainExamples,
            int workers,
            long rowsPerWorkerRound,
            long rowsPerWorkerEpoch,
            long nextRow,
            int order) {}

    /**
     * The dataset a run trains on.
     *
     * @param path where it was when the checkpoint was written
     * @param objective its objective
     * @param tokenizerSha256 its tokenizer's SHA-256
     */
    record DatasetRef(String path, String objective, String tokenizerSha256) {}

    /** The JSON object {@code trainer_state.json} holds. */
    ObjectNode toJson() {
        ObjectNode state = TrainCheckpoints.JSON.createObjectNode();
        state.put("format_version", formatVersion);
        state.put("round", round);
        state.put("global_step", globalStep);
        state.put("tokens", tokens);
        state.put("examples", examples);
        state.put("rounds", rounds);
        state.put("schedule_steps", scheduleSteps);
        ObjectNode cursor = state.putObject("data");
        cursor.put("train_examples", data.trainExamples());
        cursor.put("workers", data.workers());
        cursor.put("rows_per_worker_round", data.rowsPerWorkerRound());
        cursor.put("rows_per_worker_epoch", data.rowsPerWorkerEpoch());
        cursor.put("next_row", data.nextRow());
        cursor.put("order", data.order());
        state.put("seed", seed);
        state.set("config", config.toJson());
        state.set("model", model);
        ObjectNode ds = state.putObject("dataset");
        ds.put("path", dataset.path());
        ds.put("objective", dataset.objective());
        ds.put("tokenizer_sha256", dataset.tokenizerSha256());
        state.set("provenance", provenance);
        state.set("files", TrainCheckpoints.JSON.valueToTree(files));
        return state;
    }

    /** Reads {@code node} (a trainer_state.json's object); {@code file} names it in errors. */
    static TrainerState fromJson(JsonNode node, Object file) {
        JsonNode d = node.path("data");
        JsonNode ds = node.path("dataset");
        TrainConfig config;
        try {
            config = TrainConfig.fromJson(node.path("config"));
        } catch (RuntimeException e) {
            throw new BadInputException(
                    file
                            + ": its config cannot be read ("
                            + e.getMessage()
                            + "); the checkpoint is damaged or from another tool",
                    e);
        }
        return new TrainerState(
                node.path("format_version").asInt(-1),
                node.path("round").asLong(),
                node.path("global_step").asLong(),
                node.path("tokens").asLong(),
                node.path("examples").asLong(),
                node.path("rounds").asLong(),
                node.path("schedule_steps").asLong(),
                new DataCursor(
                        d.path("train_examples").asLong(),
                        d.path("workers").asInt(),
                        d.path("rows_per_worker_round").asLong(),
                        d.path("rows_per_worker_epoch").asLong(),
                        d.path("next_row").asLong(),
                        // Runs recorded before the data order had a version rotate their epochs.
                        d.path("order").asInt(DataSchedule.ROTATION)),
                node.path("seed").asLong(),
                config,
                node.path("model"),
                new DatasetRef(
                        ds.path("path").asText(),
                        ds.path("objective").asText(),
                        ds.path("tokenizer_sha256").asText()),
                node.path("provenance"),
                files(node));
    }

    /**
     * The {@code files} of a trainer_state.json's object, by name (what {@code verify --checkpoint}
     * needs, even of a checkpoint whose other keys are damaged); a size that is missing reads -1.
     */
    static Map<String, TrainCheckpoints.FileHash> files(JsonNode node) {
        Map<String, TrainCheckpoints.FileHash> files = new TreeMap<>();
        node.path("files")
                .fields()
                .forEachRemaining(
                        e ->
                                files.put(
                                        e.getKey(),
                                        new TrainCheckpoints.FileHash(
                                                e.getValue().path("bytes").asLong(-1),
                                                e.getValue().path("sha256").asText())));
        return files;
    }

    /** {@code checkpoint}'s trainer_state.json (its format version checked). */
    static TrainerState read(FileSystem fs, Path checkpoint) {
        return fromJson(
                TrainCheckpoints.readState(fs, checkpoint),
                new Path(checkpoint, TrainCheckpoints.STATE_FILE));
    }
}
