package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.VerifyJob;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.SparkSessions;
import dev.lmspark.train.TrainCheckpoints;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "verify",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description =
                "Re-reads a prepared dataset and checks every shard's size, SHA-256 and row count,"
                        + " and every split's total, against its manifest. Exit status 1 names each problem.")
final class VerifyCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "A prepared dataset.")
    String data;

    @Option(
            names = "--checkpoint",
            paramLabel = "DIR",
            description =
                    "A training checkpoint (checkpoints/round-NNNNNN) or a train output directory"
                            + " (its latest checkpoint): every file is checked against the size and"
                            + " SHA-256 its trainer_state.json records.")
    String checkpoint;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        if ((checkpoint == null) == (data == null)) {
            throw new BadInputException(
                    "verify needs one of --data DIR (a prepared dataset) and --checkpoint DIR (a"
                            + " training checkpoint)");
        }
        if (checkpoint != null) {
            return verifyCheckpoint();
        }
        HadoopPaths.check("--data", data);
        var spark =
                SparkSessions.start("lmspark verify", sparkOptions.master(), sparkOptions.conf());
        VerifyJob.Result r = VerifyJob.run(spark, data);
        if (r.problems().isEmpty()) {
            spec.commandLine()
                    .getOut()
                    .printf(
                            "verify: %s is intact: %d shards, %,d examples; every checksum, row"
                                    + " count, column and row length matches the manifest%n",
                            data, r.shards(), r.examples());
            return 0;
        }
        var err = spec.commandLine().getErr();
        for (String p : r.problems()) {
            err.println("lmspark verify: " + p);
        }
        return Main.FAILED;
    }

    private int verifyCheckpoint() {
        Path given = HadoopPaths.check("--checkpoint", checkpoint);
        FileSystem fs =
                HadoopPaths.fileSystem(given, HadoopPaths.configuration(sparkOptions.conf()));
        Path dir = CheckpointDirectory.resolve("--checkpoint", given, fs);
        List<String> problems = TrainCheckpoints.verify(fs, dir);
        if (problems.isEmpty()) {
            spec.commandLine()
                    .getOut()
                    .printf(
                            "verify: checkpoint %s is intact: every file matches the size and"
                                    + " SHA-256 %s records%n",
                            dir, TrainCheckpoints.STATE_FILE);
            return 0;
        }
        var err = spec.commandLine().getErr();
        for (String p : problems) {
            err.println("lmspark verify: " + p);
        }
        return Main.FAILED;
    }
}
