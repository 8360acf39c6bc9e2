package dev.lmspark.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lmspark.jobs.Provenance;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.io.OutputFolder;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.TokenizerSource;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * Writes round r's checkpoint (docs/checkpoint-format.md) without the model passing through the
 * driver: one Spark job whose tasks write, into the hidden staging directory, {@code
 * model.safetensors} and {@code optimizer.safetensors} streamed from round r's shards, and each
 * worker's {@code workers/worker-NNNNN.safetensors} from its live state on the executor that holds
 * it (a task that lands elsewhere rebuilds the state exactly first). Each task returns its file's
 * size and SHA-256; the driver adds {@code config.json}, the tokenizer and {@code
 * trainer_state.json} with every hash, and publishes ({@link TrainCheckpoints#publish}).
 */
final class CheckpointWriter {
    /** The job's items besides the workers (0..K−1). */
    static final int MODEL = -2;

    static final int OPTIMIZER = -1;

    private final JavaSparkContext jsc;
    private final FileSystem fs;
    private final Path output;
    private final ModelConfig model;
    private final TokenizerSource tokenizer;
    private final PreparedDataset dataset;

    CheckpointWriter(
            JavaSparkContext jsc,
            FileSystem fs,
            Path output,
            ModelConfig model,
            TokenizerSource tokenizer,
            PreparedDataset dataset) {
        this.jsc = jsc;
        this.fs = fs;
        this.output = output;
        this.model = model;
        this.tokenizer = tokenizer;
        this.dataset = dataset;
    }

    /** Where the run is, for {@code trainer_state.json}. */
    record Progress(
            long round,
            long rounds,
            long scheduleSteps,
            long tokens,
            long examples,
            String runId,
            double elapsedSeconds)
            implements Serializable {}

    /**
     * Writes and publishes round {@code spec.round()}'s checkpoint (round {@code spec.round()}'s
     * shards complete, the workers' states at its end); returns its directory.
     */
    Path write(RoundSpec spec, Progress progress) throws IOException {
        TrainConfig c = spec.run().config();
        Path staging = TrainCheckpoints.staging(fs, output, progress.round());
        Map<String, TrainCheckpoints.FileHash> files = new TreeMap<>();
        OutputFolder folder = TrainCheckpoints.hashing(fs, staging, "", files);
        try (OutputStream s = folder.create(ModelCheckpoint.CONFIG_FILE)) {
            s.write(ModelCheckpoint.configJson(model).getBytes(StandardCharsets.UTF_8));
        }
        var tokenizerFolder =
                TrainCheckpoints.hashing(
                        fs,
                        new Path(staging, CheckpointDirectory.TOKENIZER),
                        CheckpointDirectory.TOKENIZER + "/",
                        files);
        for (Map.Entry<String, byte[]> f : tokenizer.files().entrySet()) {
            try (OutputStream s = tokenizerFolder.create(f.getKey())) {
                s.write(f.getValue());
            }
        }
        List<Integer> items = new ArrayList<>(List.of(MODEL, OPTIMIZER));
        for (int w = 0; w < c.workers(); w++) {
            items.add(w);
        }
        String dir = staging.toString();
        jsc.sc().setJobDescription("lmspark train: checkpoint round " + progress.round());
        try {
            List<Tuple2<String, TrainCheckpoints.FileHash>> written =
                    Placement.of(jsc, items, spec.homes(), spec.hosts(), i -> i)
                            .flatMap(item -> writeFiles(item, spec, dir).iterator())
                            .collect();
            written.forEach(t -> files.put(t._1(), t._2()));
        } finally {
            jsc.sc().setJobDescription(null);
        }
        TrainCheckpoints.writeState(fs, staging, state(spec, progress, files));
        return TrainCheckpoints.publish(fs, output, staging, progress.round(), c.keepCheckpoints());
    }

    /** One item's files of the checkpoint, written on an executor; their names and hashes. */
    static List<Tuple2<String, TrainCheckpoints.FileHash>> writeFiles(
            int item, RoundSpec spec, String dir) throws IOException {
        TrainProbe.fire(TrainProbe.Point.CHECKPOINT, spec.round(), item, item, null);
        Path staging = new Path(dir);
        FileSystem fs = staging.getFileSystem(spec.run().hadoop().value());
        Map<String, TrainCheckpoints.FileHash> hash = new HashMap<>();
        OutputFolder folder = TrainCheckpoints.hashing(fs, staging, "", hash);
        GlobalShards shards = spec.shards();
        long round = spec.round();
        if (item == MODEL) {
            ModelCheckpoint.writeWeights(shards.entries(round, GlobalShards.Kind.PARAMS), folder);
        } else if (item == OPTIMIZER) {
            String kind = spec.run().config().outerOptimizer();
            try (OutputStream s = folder.create(TrainCheckpoints.OPTIMIZER_FILE)) {
                OptimizerCheckpoint.write(
                        kind,
                        kind.equals("nesterov") && shards.has(round, GlobalShards.Kind.MOMENTUM)
                                ? shards.entries(round, GlobalShards.Kind.MOMENTUM)
                                : List.of(),
                        s);
            }
        } else {
            LiveWorkers.release(
                    spec.run().runId(), spec.homes(), Worker.executorId(), Long.MAX_VALUE);
            LiveWorkers.Acquired a =
                    LiveWorkers.acquire(item, round, spec, org.apache.spark.TaskContext.get());
            try {
                try (OutputStream s = folder.create(TrainCheckpoints.workerFile(item))) {
                    OptimizerCheckpoint.write(a.live().optimizer, s);
                }
                if (a.live().deltaError != null) {
                    try (OutputStream s = folder.create(TrainCheckpoints.deltaErrorFile(item))) {
                        DeltaErrors.write(a.live().deltaError, shards.layout(), s);
                    }
                }
            } finally {
                a.live().lock.unlock();
            }
        }
        List<Tuple2<String, TrainCheckpoints.FileHash>> out = new ArrayList<>();
        hash.forEach((name, h) -> out.add(new Tuple2<>(name, h)));
        return out;
    }

    private ObjectNode state(
            RoundSpec spec, Progress progress, Map<String, TrainCheckpoints.FileHash> files)
            throws IOException {
        TrainConfig c = spec.run().config();
        DataSchedule data = spec.run().data();
        ObjectNode provenance = Provenance.of(jsc.version());
        provenance.put("run_id", progress.runId());
        provenance.put("written_at", Instant.now().toString());
        provenance.put("elapsed_s", progress.elapsedSeconds());
        return new TrainerState(
                        TrainCheckpoints.FORMAT_VERSION,
                        progress.round(),
                        progress.round() * c.localSteps(),
                        progress.tokens(),
                        progress.examples(),
                        progress.rounds(),
                        progress.scheduleSteps(),
                        new TrainerState.DataCursor(
                                dataset.numExamples("train"),
                                c.workers(),
                                c.examplesPerWorkerRound(),
                                data.blockSize(),
                                progress.round() * c.examplesPerWorkerRound(),
                                data.order()),
                        c.seed(),
                        c,
                        TrainCheckpoints.JSON.readTree(model.toJson()),
                        new TrainerState.DatasetRef(
                                dataset.root(), dataset.objective(), dataset.tokenizerSha256()),
                        provenance,
                        files)
                .toJson();
    }
}
