package dev.lmspark.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.io.HuggingFaceConfig;
import dev.lmspark.model.io.HuggingFaceFolder;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.model.io.ModelWeights;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.CheckpointFiles;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.HadoopPaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code export --format hf}: an lmspark checkpoint as a Hugging Face model folder ({@link
 * HuggingFaceFolder}), with the tokenizer files of the checkpoint's {@code tokenizer/} folder. A
 * driver-only job: one model is read and written on the CPU, no Spark session is needed.
 */
public final class ExportJob {
    /**
     * @param checkpoint a checkpoint directory or a train output directory (its latest checkpoint)
     * @param output the Hugging Face folder to create
     * @param overwrite replace an existing output
     */
    public record Config(String checkpoint, String output, boolean overwrite) {
        public Config {
            HadoopPaths.check("--checkpoint", checkpoint);
            HadoopPaths.check("--output", output);
        }
    }

    /**
     * What was written.
     *
     * @param checkpoint the checkpoint directory exported
     * @param architecture the Hugging Face class of the config (e.g. {@code BertForPreTraining})
     * @param parameters the model's parameter count
     * @param tokenizer whether tokenizer files were exported with the model
     */
    public record Result(
            String checkpoint,
            String output,
            String architecture,
            long parameters,
            boolean tokenizer,
            double seconds) {}

    private ExportJob() {}

    /** Exports, printing warnings (no tokenizer) to {@code progress}. */
    public static Result run(Config config, Configuration hadoop, PrintWriter progress) {
        long start = System.nanoTime();
        Path given = new Path(config.checkpoint());
        FileSystem fs = HadoopPaths.fileSystem(given, hadoop);
        Path dir = CheckpointDirectory.resolve("--checkpoint", given, fs);
        InputFolder checkpoint = HadoopFolders.input(fs, dir);
        try {
            ModelConfig model = CheckpointFiles.config(checkpoint);
            Map<String, byte[]> tokenizerFiles =
                    tokenizerFiles(
                            HadoopFolders.input(fs, new Path(dir, CheckpointDirectory.TOKENIZER)));
            SpecialTokenIds specials = specials(tokenizerFiles);
            HuggingFaceConfig.SpecialTokenIds tokens =
                    model.causal()
                            ? new HuggingFaceConfig.SpecialTokenIds(
                                    specials.pad(), specials.bos(), specials.eos())
                            : new HuggingFaceConfig.SpecialTokenIds(specials.pad(), null, null);
            String architecture = exportable(dir, model, tokens);
            if (tokenizerFiles.isEmpty()) {
                progress.println(
                        "export: warning: "
                                + dir
                                + " has no "
                                + CheckpointDirectory.TOKENIZER
                                + "/tokenizer.json; exporting the model alone (add the tokenizer"
                                + " files to the folder before loading it with transformers)");
            }
            try (AtomicOutput out =
                            AtomicOutput.begin(
                                    "--output",
                                    new Path(config.output()),
                                    config.overwrite(),
                                    hadoop);
                    NDManager manager = NDManager.newBaseManager(Device.cpu(), Devices.ENGINE)) {
                ModelWeights weights = CheckpointFiles.weights(checkpoint, manager);
                long parameters = 0;
                for (NDArray a : weights.parameters().values()) {
                    parameters += a.getShape().size();
                }
                HuggingFaceFolder.write(
                        weights,
                        tokens,
                        tokenizerFiles,
                        HadoopFolders.output(out.fileSystem(), out.temporary()));
                out.publish();
                return new Result(
                        dir.toString(),
                        out.target().toString(),
                        architecture,
                        parameters,
                        !tokenizerFiles.isEmpty(),
                        (System.nanoTime() - start) / 1e9);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("export of " + dir + " failed: " + e.getMessage(), e);
        }
    }

    /** The Hugging Face class of {@code model}; one line naming the architecture when none. */
    private static String exportable(
            Path dir, ModelConfig model, HuggingFaceConfig.SpecialTokenIds tokens) {
        try {
            HuggingFaceConfig.toJson(model, tokens);
            return HuggingFaceConfig.architecture(model);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(
                    "--checkpoint "
                            + dir
                            + " holds a "
                            + model.architecture()
                            + " model that --format hf cannot export: "
                            + e.getMessage(),
                    e);
        }
    }

    /** The tokenizer files the folder holds, none when it has no {@code tokenizer.json}. */
    private static Map<String, byte[]> tokenizerFiles(InputFolder tokenizer) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        if (!tokenizer.exists(HuggingFaceFolder.TOKENIZER_FILES.get(0))) {
            return files;
        }
        for (String name : HuggingFaceFolder.TOKENIZER_FILES) {
            if (tokenizer.exists(name)) {
                try (InputStream s = tokenizer.open(name)) {
                    files.put(name, s.readAllBytes());
                }
            }
        }
        return files;
    }

    private static SpecialTokenIds specials(Map<String, byte[]> tokenizerFiles) {
        byte[] json = tokenizerFiles.get(HuggingFaceFolder.TOKENIZER_FILES.get(0));
        if (json == null) {
            return SpecialTokenIds.of(new ObjectMapper().createObjectNode());
        }
        try {
            return SpecialTokenIds.of(new ObjectMapper().readTree(json));
        } catch (IOException e) {
            throw new BadInputException(
                    "the checkpoint's tokenizer/tokenizer.json is not JSON: " + e.getMessage(), e);
        }
    }
}
