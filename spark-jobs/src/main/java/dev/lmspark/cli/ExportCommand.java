package dev.lmspark.cli;

import dev.lmspark.jobs.ExportJob;
import dev.lmspark.spark.HadoopPaths;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Writes a checkpoint as a Hugging Face model folder that transformers loads:"
                    + " config.json (BertForPreTraining, BertLMHeadModel or LlamaForCausalLM),"
                    + " model.safetensors with Hugging Face names, and the checkpoint's tokenizer"
                    + " files (tokenizer.json, tokenizer_config.json, special_tokens_map.json).",
            "Runs on the driver alone; no Spark job is started."
        })
final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--checkpoint",
            required = true,
            paramLabel = "DIR",
            description =
                    "A checkpoint directory (checkpoints/round-NNNNNN), or a train output"
                            + " directory (its checkpoints/latest is exported).")
    String checkpoint;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "DIR",
            description = "Hugging Face folder to create.")
    String output;

    @Option(
            names = "--format",
            paramLabel = "hf",
            converter = Converters.ExportFormats.class,
            description = "Output format (default: ${DEFAULT-VALUE}, a Hugging Face folder).")
    String format = "hf";

    @Option(names = "--overwrite", description = "Replace --output if it exists.")
    boolean overwrite;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        var config = new ExportJob.Config(checkpoint, output, overwrite);
        var result =
                ExportJob.run(
                        config,
                        HadoopPaths.configuration(sparkOptions.conf()),
                        spec.commandLine().getErr());
        spec.commandLine()
                .getOut()
                .printf(
                        "export: wrote %s (%,d parameters%s) from %s to %s in %.1f s%n",
                        result.architecture(),
                        result.parameters(),
                        result.tokenizer() ? ", with the tokenizer" : ", no tokenizer",
                        result.checkpoint(),
                        result.output(),
                        result.seconds());
        return 0;
    }
}
