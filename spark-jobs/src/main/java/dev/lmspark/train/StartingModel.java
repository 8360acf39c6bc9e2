package dev.lmspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.lmspark.data.BadInputException;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.ModelCheckpoint;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.model.io.OptimizerCheckpoint;
import dev.lmspark.model.task.PretrainingTasks;
import dev.lmspark.model.train.PretrainingTask;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The model a run starts from, as arrays on the driver's manager until they are published as the
 * start round's shards: a preset or config file adapted to the data, {@code --init-from}'s weights
 * (an lmspark checkpoint or a Hugging Face folder), or a resumed checkpoint's parameters and outer
 * momentum; and the refusals of a model that cannot train on the data.
 *
 * @param config the model's config
 * @param params its parameters by name
 * @param momentum the outer momentum of a resumed {@code nesterov} run, else null
 */
record StartingModel(
        ModelConfig config, Map<String, NDArray> params, Map<String, NDArray> momentum) {
    static final long INIT_STREAM = 0x696e697400000001L;

    /** The architecture: a preset or config file adapted to the data, or --init-from's. */
    static StartingModel initial(
            TrainConfig c,
            PreparedDataset dataset,
            Configuration hadoop,
            NDManager manager,
            PrintWriter log)
            throws IOException {
        String objective = objective(c, dataset);
        ModelConfig named =
                c.model() == null ? null : namedModel(c.model(), dataset, objective, hadoop);
        if (c.initFrom() == null) {
            ModelConfig config =
                    named != null
                            ? named
                            : adapt(
                                    ModelConfig.preset(
                                            objective.equals("clm") ? "llama-tiny" : "bert-mini"),
                                    dataset,
                                    objective);
            PretrainingTask task = initialize(config, manager, c.seed());
            return new StartingModel(config, task.parameters(), null);
        }
        ModelWeights weights = readInitFrom(c.initFrom(), hadoop, manager, c.seed(), log);
        if (named != null && !sameArchitecture(named, weights.config())) {
            throw new BadInputException(
                    "--model "
                            + c.model()
                            + " is not the architecture of --init-from "
                            + c.initFrom()
                            + "; drop --model (the architecture comes from --init-from)");
        }
        return new StartingModel(weights.config(), weights.parameters(), null);
    }

    private static PretrainingTask initialize(ModelConfig config, NDManager manager, long seed) {
        return PretrainingTasks.initialize(
                config, manager, dev.lmspark.data.random.Seeds.mix(seed, INIT_STREAM));
    }

    /** An lmspark checkpoint (or train output) or a Hugging Face folder. */
    private static ModelWeights readInitFrom(
            String location, Configuration hadoop, NDManager manager, long seed, PrintWriter log)
            throws IOException {
        Path path = HadoopPaths.check("--init-from", location);
        FileSystem fs = HadoopPaths.fileSystem(path, hadoop);
        if (!fs.exists(path)) {
            throw new BadInputException(
                    "--init-from "
                            + location
                            + " does not exist; give an lmspark checkpoint, a train output or a"
                            + " Hugging Face model folder");
        }
        boolean lmspark =
                isLmsparkCheckpoint(fs, path) || fs.exists(TrainCheckpoints.directory(path));
        try {
            if (lmspark) {
                Path dir = CheckpointDirectory.resolve("--init-from", path, fs);
                return ModelCheckpoint.read(HadoopFolders.input(fs, dir), manager);
            }
            HuggingFaceFolder.Imported imported =
                    HuggingFaceFolder.read(HadoopFolders.input(fs, path), manager, seed);
            imported.warnings().forEach(w -> log.println("train: --init-from: " + w));
            return imported.weights();
        } catch (IOException e) {
            throw new BadInputException("--init-from " + location + ": " + e.getMessage(), e);
        }
    }

    private static boolean isLmsparkCheckpoint(FileSystem fs, Path dir) throws IOException {
        Path config = new Path(dir, ModelCheckpoint.CONFIG_FILE);
        if (!fs.isFile(config)) {
            return false;
        }
        try (InputStream in = fs.open(config)) {
            return TrainCheckpoints.JSON.readTree(in).has("format_version");
        }
    }

    /** Equal but for vocabulary size and length, which come from the data. */
    private static boolean sameArchitecture(ModelConfig a, ModelConfig b) {
        return a.withVocabSize(1)
                .withMaxPositions(1)
                .equals(b.withVocabSize(1).withMaxPositions(1));
    }

    /** {@code --objective}, else the dataset's. */
    static String objective(TrainConfig c, PreparedDataset dataset) {
        String data = dataset.objective().equals("clm") ? "clm" : "mlm";
        String o = c.objective() == null ? data : c.objective();
        if (!o.equals(data)) {
            throw new BadInputException(
                    "--objective "
                            + o
                            + " does not fit --data "
                            + c.data()
                            + ", a "
                            + dataset.objective()
                            + " dataset; prepare it with --objective "
                            + o
                            + " or train --objective "
                            + data);
        }
        return o;
    }

    /** A preset (vocabulary and length from the data) or a config JSON file (taken as it is). */
    private static ModelConfig namedModel(
            String model, PreparedDataset dataset, String objective, Configuration hadoop)
            throws IOException {
        if (ModelConfig.presetNames().contains(model.toLowerCase(Locale.ROOT))) {
            return adapt(ModelConfig.preset(model), dataset, objective);
        }
        Path path = HadoopPaths.check("--model", model);
        FileSystem fs = HadoopPaths.fileSystem(path, hadoop);
        if (!fs.isFile(path)) {
            throw new BadInputException(
                    "--model "
                            + model
                            + " is neither a preset ("
                            + String.join(", ", ModelConfig.presetNames())
                            + ") nor a config JSON file");
        }
        String json;
        try (InputStream in = fs.open(path)) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try {
            ModelConfig config =
                    json.contains("\"format_version\"")
                            ? ModelCheckpoint.parseConfig(json, model)
                            : ModelConfig.fromJson(json);
            return config;
        } catch (IOException | IllegalArgumentException e) {
            throw new BadInputException("--model " + model + ": " + e.getMessage(), e);
        }
    }

    /** A preset with the data's vocabulary and length, causal for clm. */
    static ModelConfig adapt(ModelConfig preset, PreparedDataset dataset, String objective) {
        ModelConfig c =
                preset.withVocabSize(dataset.vocabSize()).withMaxPositions(dataset.maxLength());
        if (objective.equals("clm") && c.architecture().equals("bert")) {
            c = c.withCausal(true); // a BERT trunk with a causal mask and the BERT LM head
        }
        return c;
    }

    /** One-line refusals of a model that cannot train on this dataset (exit 2). */
    static void checkModelAgainstData(
            TrainConfig c, ModelConfig m, PreparedDataset dataset, PrintWriter log) {
        String objective = objective(c, dataset);
        if (objective.equals("mlm") && m.causal()) {
            throw new BadInputException(
                    "the model is causal ("
                            + m.architecture()
                            + ") but --data "
                            + c.data()
                            + " is an MLM dataset; use a bert-* or rotary-mlm-* model, or a clm"
                            + " dataset");
        }
        if (objective.equals("clm") && !m.causal()) {
            throw new BadInputException(
                    "the model is a masked LM ("
                            + m.architecture()
                            + ") but --data "
                            + c.data()
                            + " is a CLM dataset; use a llama-* or bert-* preset (trained"
                            + " causally), or an mlm dataset");
        }
        if (m.vocabSize() < dataset.vocabSize()) {
            throw new BadInputException(
                    "the model's vocabulary has "
                            + m.vocabSize()
                            + " tokens but --data "
                            + c.data()
                            + "'s tokenizer has "
                            + dataset.vocabSize()
                            + "; use a model with at least that many, or the model's own tokenizer");
        }
        if (m.positions().equals("learned") && m.maxPositions() < dataset.maxLength()) {
            throw new BadInputException(
                    "the model has "
                            + m.maxPositions()
                            + " learned positions but --data "
                            + c.data()
                            + " has rows of "
                            + dataset.maxLength()
                            + " tokens; prepare the data with --max-length "
                            + m.maxPositions()
                            + " or less");
        }
        if (dataset.hasNsp() && !m.architecture().equals("bert")) {
            log.println(
                    "train: warning: --data has next-sentence pairs but "
                            + m.architecture()
                            + " has no NSP head; training MLM only");
        }
    }

    /** A resumed checkpoint's parameters and outer momentum, on {@code manager}. */
    static StartingModel resumed(FileSystem fs, Path checkpoint, TrainConfig c, NDManager manager)
            throws IOException {
        ModelWeights w = ModelCheckpoint.read(HadoopFolders.input(fs, checkpoint), manager);
        Map<String, NDArray> momentum = null;
        try (InputStream in = fs.open(new Path(checkpoint, TrainCheckpoints.OPTIMIZER_FILE))) {
            Map<String, NDArray> outer = OptimizerCheckpoint.read(c.outerOptimizer(), in, manager);
            if (!outer.isEmpty()) {
                momentum = outer;
            }
        }
        return new StartingModel(w.config(), w.parameters(), momentum);
    }
}
