package dev.lmspark.cli;

import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.VerifyJob;
import dev.lmspark.spark.HadoopPaths;
import dev.lmspark.spark.SparkSessions;
import java.util.concurrent.Callable;
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
            description = "A training checkpoint (arrives with train).")
    String checkpoint;

    @Mixin SparkOptions sparkOptions;

    @Override
    public Integer call() {
        if (checkpoint != null) {
            throw new BadInputException(
                    "verify --checkpoint needs checkpoints, which arrive with the train"
                            + " command; verify a prepared dataset with --data");
        }
        if (data == null) {
            throw new BadInputException("verify needs --data DIR (a prepared dataset)");
        }
        HadoopPaths.check("--data", data);
        var spark =
                SparkSessions.start("lmspark verify", sparkOptions.master(), sparkOptions.conf());
        VerifyJob.Result r = VerifyJob.run(spark, data);
        if (r.problems().isEmpty()) {
            spec.commandLine()
                    .getOut()
                    .printf(
                            "verify: %s is intact: %d shards, %,d examples, every checksum"
                                    + " and row count matches the manifest%n",
                            data, r.shards(), r.examples());
            return 0;
        }
        var err = spec.commandLine().getErr();
        for (String p : r.problems()) {
            err.println("lmspark verify: " + p);
        }
        return Main.FAILED;
    }
}
