package dev.lmspark.generate;

import ai.djl.Device;
import dev.lmspark.data.BadInputException;
import dev.lmspark.data.tokenizer.LmTokenizer;
import dev.lmspark.data.tokenizer.SpecialTokenIds;
import dev.lmspark.data.tokenizer.TrainedTokenizer;
import dev.lmspark.model.Devices;
import dev.lmspark.model.config.ModelConfig;
import dev.lmspark.model.generate.IterativeUnmasking;
import dev.lmspark.model.generate.NoiseSchedule;
import dev.lmspark.model.io.InputFolder;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopFolders;
import dev.lmspark.spark.TokenizerSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What {@code generate} checks before it generates: the tokenizer ({@code --tokenizer}, else the
 * checkpoint's), the flags against the model and tokenizer (before any weight is read), the lengths
 * of prompts and rows against the model's positions, and the device.
 */
final class GenerateChecks {
    private GenerateChecks() {}

    /** {@code --tokenizer}'s {@code tokenizer.json}, else the checkpoint's. */
    static byte[] tokenizerJson(
            GenerateJob.Config c, FileSystem fs, Path checkpoint, Configuration hadoop) {
        if (c.tokenizer() != null) {
            return TokenizerSource.read(c.tokenizer(), false, hadoop).json();
        }
        InputFolder folder =
                HadoopFolders.input(fs, new Path(checkpoint, CheckpointDirectory.TOKENIZER));
        try {
            if (!folder.exists(TrainedTokenizer.TOKENIZER_JSON)) {
                throw new BadInputException(
                        "--checkpoint "
                                + checkpoint
                                + " has no "
                                + CheckpointDirectory.TOKENIZER
                                + "/"
                                + TrainedTokenizer.TOKENIZER_JSON
                                + "; give the tokenizer the model was trained with as --tokenizer"
                                + " DIR");
            }
            try (InputStream s = folder.open(TrainedTokenizer.TOKENIZER_JSON)) {
                return s.readAllBytes();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot read the tokenizer of " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    static LmTokenizer loadTokenizer(byte[] json, GenerateJob.Config c, Path checkpoint) {
        try {
            return LmTokenizer.fromJson(json);
        } catch (BadInputException e) {
            String where =
                    c.tokenizer() != null
                            ? "--tokenizer " + c.tokenizer()
                            : "--checkpoint " + checkpoint + ": " + CheckpointDirectory.TOKENIZER;
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    /** Refuses flags the model or tokenizer cannot serve, before the weights are read. */
    static void checkModelAndFlags(
            GenerateJob.Config c,
            Path dir,
            ModelConfig model,
            LmTokenizer tok,
            PrintWriter progress) {
        String from = c.tokenizer() != null ? "--tokenizer " + c.tokenizer() : "its tokenizer";
        if (tok.vocabSize() != model.vocabSize()) {
            throw new BadInputException(
                    "the model in "
                            + dir
                            + " has a vocabulary of "
                            + model.vocabSize()
                            + " ids, "
                            + from
                            + " has "
                            + tok.vocabSize()
                            + "; give the tokenizer the model was trained with"
                            + (c.tokenizer() != null ? "" : " as --tokenizer DIR"));
        }
        String kind = model.architecture() + (model.causal() ? " causal LM" : " masked LM");
        SpecialTokenIds s = tok.specials();
        if (model.causal()) {
            if (c.data() != null) {
                throw new BadInputException(
                        "--data predicts mlm-seq2seq rows with a masked LM; "
                                + dir
                                + " holds a "
                                + kind
                                + "; give a masked LM's --checkpoint, or --prompt");
            }
            if (c.history() != null) {
                throw new BadInputException(
                        "--history records the steps of iterative unmasking, which a "
                                + kind
                                + " does not do; leave --history out");
            }
            if (s.eos() == null) {
                throw new BadInputException(
                        from
                                + " has no EOS (<|endoftext|> or [SEP]), which causal generation"
                                + " starts and stops at; give the tokenizer the model was trained"
                                + " with");
            }
            if (c.infilling() && !s.hasFim()) {
                throw new BadInputException(
                        "--suffix infills with the FIM sentinels, and "
                                + from
                                + " has none (<fim_prefix> <fim_middle> <fim_suffix> <fim_pad>);"
                                + " use a model trained with a bpe tokenizer and --fim-rate, or"
                                + " leave --suffix out");
            }
            if (c.steps() != null
                    || c.schedule() != NoiseSchedule.LINEAR
                    || c.order() != IterativeUnmasking.Order.RANDOM) {
                progress.println(
                        "generate: warning: --steps, --noise-schedule and --unmask-order apply to"
                                + " masked LMs; this "
                                + kind
                                + " ignores them");
            }
        } else {
            if (c.infilling()) {
                throw new BadInputException(
                        "--suffix (fill-in-the-middle) needs a causal LM; "
                                + dir
                                + " holds a "
                                + kind
                                + ", which continues a --prompt by unmasking; leave --suffix out");
            }
            if (s.mask() == null) {
                throw new BadInputException(
                        from
                                + " has no [MASK] token, which a masked LM generates by filling;"
                                + " give the tokenizer the model was trained with");
            }
            if (!c.stopAtEos() || !c.kvCache()) {
                progress.println(
                        "generate: warning: --ignore-eos and --no-kv-cache apply to causal LMs;"
                                + " this "
                                + kind
                                + " ignores them");
            }
        }
        if (c.sampler().isGreedy() && (c.sampler().topK() > 0 || c.sampler().topP() < 1)) {
            progress.println(
                    "generate: warning: --top-k and --top-p change nothing with --temperature 0"
                            + " (greedy)");
        }
    }

    /**
     * Refuses rows longer than a learned position table and causal prompts that leave no room,
     * before the weights are read; warns when a causal prompt leaves less room than asked for, or a
     * reference cannot be matched in {@code maxNewTokens}.
     */
    static void checkLengths(
            GenerateJob.Config c,
            ModelConfig model,
            LmTokenizer tok,
            int maxNewTokens,
            List<PredictionRows.PredictRow> rows,
            PrintWriter progress) {
        int limit = model.maxPositions();
        if (model.causal()) {
            for (int i = 0; i < c.prompts().size(); i++) {
                int tokens = tok.encode(c.prompts().get(i)).length();
                String with = "";
                if (c.infilling()) {
                    // <fim_prefix> prefix <fim_suffix> suffix <fim_middle>
                    tokens += tok.encode(c.suffix(i)).length() + 3;
                    with = " with its --suffix and the FIM sentinels";
                }
                tokens = Math.max(1, tokens); // an empty prompt starts after EOS
                if (tokens >= limit) {
                    throw new BadInputException(
                            "--prompt "
                                    + (i + 1)
                                    + " is "
                                    + tokens
                                    + " tokens"
                                    + with
                                    + ", which leaves no room under the model's max_positions "
                                    + limit
                                    + "; shorten it");
                }
                if (tokens + maxNewTokens > limit) {
                    progress.printf(
                            "generate: warning: --prompt %d is %d tokens%s; the model's"
                                    + " max_positions %d leaves room for %d of --max-new-tokens"
                                    + " %d%n",
                            i + 1, tokens, with, limit, limit - tokens, maxNewTokens);
                }
            }
            return;
        }
        boolean learned = model.positions().equals("learned");
        String fix = "; lower --max-new-tokens or shorten the input";
        if (c.numSamples() > 0 && learned && maxNewTokens > limit) {
            throw new BadInputException(
                    "--max-new-tokens "
                            + maxNewTokens
                            + " is more than the model's max_positions "
                            + limit
                            + "; lower it");
        }
        SpecialTokenIds s = tok.specials();
        int framing = (s.cls() != null ? 1 : 0) + (s.sep() != null ? 1 : 0);
        for (int i = 0; i < c.prompts().size(); i++) {
            int length = tok.encode(c.prompts().get(i)).length() + framing + maxNewTokens;
            if (learned && length > limit) {
                throw new BadInputException(
                        "--prompt "
                                + (i + 1)
                                + " with --max-new-tokens "
                                + maxNewTokens
                                + " is "
                                + length
                                + " positions, more than the model's max_positions "
                                + limit
                                + fix);
            }
        }
        if (rows != null) {
            if (rows.isEmpty()) {
                throw new BadInputException(
                        "--split " + c.split() + " of --data " + c.data() + " has no rows");
            }
            int longestPrefix = 0;
            int unreachable = 0;
            for (PredictionRows.PredictRow r : rows) {
                longestPrefix = Math.max(longestPrefix, Arrays.stream(r.attentionMask()).sum());
                if (GenerateJob.untilSep(tok, r.targetIds()).length > maxNewTokens) {
                    unreachable++;
                }
            }
            if (learned && longestPrefix + maxNewTokens > limit) {
                throw new BadInputException(
                        "--data rows of up to "
                                + longestPrefix
                                + " prefix tokens with --max-new-tokens "
                                + maxNewTokens
                                + " are "
                                + (longestPrefix + maxNewTokens)
                                + " positions, more than the model's max_positions "
                                + limit
                                + "; lower --max-new-tokens");
            }
            if (unreachable > 0) {
                progress.printf(
                        "generate: warning: %d of %d references are longer than --max-new-tokens"
                                + " %d and cannot match exactly%n",
                        unreachable, rows.size(), maxNewTokens);
            }
        }
    }

    static Device device(GenerateJob.DeviceChoice choice) {
        return switch (choice) {
            case AUTO -> Devices.forTask(null);
            case CPU -> Device.cpu();
            case GPU -> {
                if (Devices.engine().getGpuCount() == 0) {
                    throw new BadInputException(
                            "--device gpu: the PyTorch engine sees no GPU (a CUDA build and a"
                                    + " visible GPU are needed); use --device cpu");
                }
                yield Device.gpu(0);
            }
        };
    }
}
