package dev.lmspark.train;

import dev.lmspark.data.BadInputException;
import dev.lmspark.spark.data.PreparedDataset;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where a run starts, checked before anything is written: a fresh start (its {@code --output} free,
 * or {@code --overwrite}), or {@code --resume} from {@code --output}'s latest checkpoint with the
 * recorded config (flags that would change the trajectory refused) and its position.
 *
 * @param config the run's config (for a resumed run, the recorded one with the given scheduling
 *     flags)
 * @param round the last completed round (0 at a fresh start)
 * @param tokens tokens trained on so far
 * @param examples rows trained on so far
 * @param scheduleSteps the learning-rate schedule's length
 * @param rounds the rounds the run planned
 * @param dataOrder the data-order version ({@link DataSchedule})
 * @param checkpoint the checkpoint resumed from, or null
 * @param state its trainer_state.json, or null
 */
record RunStart(
        TrainConfig config,
        long round,
        long tokens,
        long examples,
        long scheduleSteps,
        long rounds,
        int dataOrder,
        Path checkpoint,
        TrainerState state) {
    /** A fresh start: refused when {@code --output} holds a run and {@code overwrite} is false. */
    static RunStart fresh(FileSystem fs, Path output, TrainConfig c, boolean overwrite)
            throws IOException {
        boolean used =
                fs.exists(TrainCheckpoints.directory(output))
                        || fs.exists(new Path(output, MetricsLog.FILE));
        if (used && !overwrite) {
            throw new BadInputException(
                    "--output "
                            + output
                            + " already holds a training run; add --resume to continue it, or"
                            + " --overwrite to start over");
        }
        return new RunStart(c, 0, 0, 0, 0, 0, DataSchedule.BLOCKS, null, null);
    }

    /** A fresh run's {@code --output}: an earlier run's checkpoints and metrics removed. */
    static void clearOutput(FileSystem fs, Path output) throws IOException {
        fs.delete(TrainCheckpoints.directory(output), true);
        fs.delete(new Path(output, MetricsLog.FILE), false);
        fs.mkdirs(output);
    }

    /**
     * {@code --resume}: the latest checkpoint of {@code output}, its recorded config with the given
     * flags that may change (refusing those that would change the trajectory), and its position.
     */
    static RunStart resume(
            FileSystem fs, Path output, TrainConfig given, Set<String> explicit, PrintWriter log)
            throws IOException {
        Path checkpoint = TrainCheckpoints.latest(fs, output);
        if (checkpoint == null) {
            throw new BadInputException(
                    "--resume: "
                            + output
                            + " has no complete checkpoint (checkpoints/latest); start without"
                            + " --resume");
        }
        TrainerState state = TrainerState.read(fs, checkpoint);
        TrainConfig recorded = state.config();
        List<String> conflicts = recorded.conflicts(given, explicit);
        if (!conflicts.isEmpty()) {
            throw new BadInputException(
                    "--resume continues the recorded run, but "
                            + String.join("; ", conflicts)
                            + "; drop those flags, or start a new run in another --output");
        }
        TrainConfig c = recorded.resumedWith(given, explicit);
        long round = state.round();
        for (int w = 0; w < c.workers(); w++) {
            if (!c.deltaPrecision().equals("fp32")
                    && !fs.isFile(new Path(checkpoint, TrainCheckpoints.deltaErrorFile(w)))) {
                throw new BadInputException(
                        checkpoint
                                + " has no "
                                + TrainCheckpoints.deltaErrorFile(w)
                                + "; the checkpoint is incomplete, resume from an earlier one");
            }
            if (!fs.isFile(new Path(checkpoint, TrainCheckpoints.workerFile(w)))) {
                throw new BadInputException(
                        checkpoint
                                + " has no "
                                + TrainCheckpoints.workerFile(w)
                                + "; the checkpoint is incomplete, resume from an earlier one");
            }
        }
        TrainCheckpoints.removeStaging(fs, output);
        log.printf(
                "train: resuming %s from %s (round %d, %,d tokens)%n",
                output, checkpoint.getName(), round, state.tokens());
        return new RunStart(
                c,
                round,
                state.tokens(),
                state.examples(),
                state.scheduleSteps(),
                state.rounds(),
                state.data().order(),
                checkpoint,
                state);
    }

    /** A resumed run must read the data it started with (the same tokenizer and train split). */
    static void checkSameData(TrainerState state, PreparedDataset dataset, TrainConfig c) {
        String tokenizer = state.dataset().tokenizerSha256();
        long examples = state.data().trainExamples();
        if (!tokenizer.equals(dataset.tokenizerSha256())
                || examples != dataset.numExamples("train")) {
            throw new BadInputException(
                    "--data "
                            + c.data()
                            + " is not the dataset this run started with ("
                            + state.dataset().path()
                            + ": "
                            + examples
                            + " train examples, tokenizer "
                            + tokenizer.substring(0, Math.min(12, tokenizer.length()))
                            + "…); resume with that --data");
        }
    }
}
