package dev.lmspark.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lmspark.data.BadInputException;
import dev.lmspark.jobs.RunMetrics.Round;
import dev.lmspark.jobs.RunMetrics.Summary;
import dev.lmspark.spark.AtomicOutput;
import dev.lmspark.spark.CheckpointDirectory;
import dev.lmspark.spark.HadoopPaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.jfree.chart.JFreeChart;

/**
 * {@code report}: the curves of a training run, read from its {@value RunMetrics#FILE}, as a PNG
 * image (the panels of {@link ReportCharts} stacked under the run's name) and as a self-contained
 * HTML page ({@link ReportPage}: the same panels, a summary table, the last evaluation, and the
 * train config from the latest checkpoint's {@value CheckpointDirectory#TRAINER_STATE}). A
 * driver-only job: no Spark session; a run still in progress can be reported.
 */
public final class ReportJob {
    /** The PNG written into the run directory when no {@code --output} is given. */
    public static final String DEFAULT_PNG = "report.png";

    /** The HTML page written into the run directory when no {@code --output} is given. */
    public static final String DEFAULT_HTML = "report.html";

    /** What the summary shows for a figure the run did not log. */
    private static final String ABSENT = "—";

    /** Longest value shown in the configuration table; longer ones are cut with an ellipsis. */
    private static final int LONGEST_VALUE = 240;

    /** The output formats, told apart by the file name's extension. */
    public enum Format {
        PNG,
        HTML;

        /**
         * The format of {@code path}: {@code .png} or {@code .html} (any case).
         *
         * @throws BadInputException for any other extension
         */
        public static Format of(String path) {
            String name = path.toLowerCase(Locale.ROOT);
            if (name.endsWith(".png")) {
                return PNG;
            }
            if (name.endsWith(".html")) {
                return HTML;
            }
            throw new BadInputException(
                    "--output "
                            + path
                            + " ends in neither .png nor .html; end it in .png for an image of the"
                            + " charts or .html for a self-contained page");
        }
    }

    /**
     * @param run a train output directory (it holds {@value RunMetrics#FILE})
     * @param outputs files to write, each a {@code .png} or {@code .html}; empty for {@value
     *     #DEFAULT_PNG} and {@value #DEFAULT_HTML} in {@code run}
     * @param overwrite replace existing outputs
     */
    public record Config(String run, List<String> outputs, boolean overwrite) {
        public Config {
            HadoopPaths.check("--run", run);
            outputs = outputs == null ? List.of() : List.copyOf(outputs);
            for (String output : outputs) {
                HadoopPaths.check("--output", output);
                Format.of(output);
            }
        }
    }

    /**
     * What was written.
     *
     * @param run the run directory, qualified
     * @param outputs the files written, qualified, in the order given
     * @param lastRound the highest round in the metrics
     * @param steps the global step at that round
     */
    public record Result(
            String run, List<String> outputs, int lastRound, long steps, double seconds) {}

    private ReportJob() {}

    /** Writes the report, printing warnings (a partial last line …) to {@code progress}. */
    public static Result run(Config config, Configuration hadoop, PrintWriter progress) {
        long start = System.nanoTime();
        Path given = new Path(config.run());
        FileSystem fs = HadoopPaths.fileSystem(given, hadoop);
        Path run = fs.makeQualified(given);
        RunMetrics metrics = readMetrics(fs, run, config.run());
        Map<Path, Format> targets = targets(config, run, hadoop);
        List<String> warnings = new ArrayList<>(metrics.warnings());
        ReportPage.Table trainConfig = trainConfig(fs, run, warnings);
        warnings.forEach(w -> progress.println("report: warning: " + w));

        String title = run.getName();
        Summary summary = metrics.summary();
        List<JFreeChart> panels = ReportCharts.panels(metrics);
        byte[] png = null;
        byte[] html = null;
        if (targets.containsValue(Format.PNG)) {
            png = ReportImages.png(ReportImages.stacked(title, headline(summary), panels));
        }
        if (targets.containsValue(Format.HTML)) {
            List<ReportPage.Chart> charts = new ArrayList<>();
            for (JFreeChart panel : panels) {
                // Drawn at twice the pixels and shown at the panel's size: sharp on dense screens.
                charts.add(
                        new ReportPage.Chart(
                                panel.getTitle().getText(),
                                ReportImages.png(ReportImages.single(panel, 2)),
                                ReportCharts.WIDTH,
                                ReportCharts.PANEL));
            }
            List<ReportPage.Table> tables = new ArrayList<>();
            tables.add(new ReportPage.Table("Summary", summaryRows(summary)));
            lastEvaluation(metrics).ifPresent(tables::add);
            html =
                    ReportPage.html(title, run.toString(), warnings, tables, charts, trainConfig)
                            .getBytes(StandardCharsets.UTF_8);
        }
        List<String> written = new ArrayList<>();
        for (Map.Entry<Path, Format> t : targets.entrySet()) {
            AtomicOutput.writeFile(
                    "--output",
                    t.getKey(),
                    config.overwrite(),
                    hadoop,
                    t.getValue() == Format.PNG ? png : html);
            written.add(t.getKey().toString());
        }
        return new Result(
                run.toString(),
                written,
                summary.lastRound(),
                summary.steps(),
                (System.nanoTime() - start) / 1e9);
    }

    private static RunMetrics readMetrics(FileSystem fs, Path run, String given) {
        Path file = new Path(run, RunMetrics.FILE);
        try {
            if (fs.isFile(run)) {
                throw new BadInputException(
                        "--run "
                                + given
                                + " is a file; give the train --output directory that holds "
                                + RunMetrics.FILE);
            }
            if (!fs.isFile(file)) {
                throw new BadInputException(
                        "--run "
                                + given
                                + (fs.exists(run)
                                        ? " has no " + RunMetrics.FILE
                                        : " does not exist")
                                + "; give the --output directory of a train run (train appends a"
                                + " line to "
                                + RunMetrics.FILE
                                + " after every round)");
            }
            try (InputStream in = fs.open(file)) {
                return RunMetrics.parse(
                        new String(in.readAllBytes(), StandardCharsets.UTF_8), file.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The outputs, qualified, each checked before anything is drawn. */
    private static Map<Path, Format> targets(Config config, Path run, Configuration hadoop) {
        List<String> outputs =
                config.outputs().isEmpty()
                        ? List.of(
                                new Path(run, DEFAULT_PNG).toString(),
                                new Path(run, DEFAULT_HTML).toString())
                        : config.outputs();
        Map<Path, Format> targets = new LinkedHashMap<>();
        for (String output : outputs) {
            Path path = new Path(output);
            FileSystem fs = HadoopPaths.fileSystem(path, hadoop);
            Path qualified = fs.makeQualified(path);
            if (targets.put(qualified, Format.of(output)) != null) {
                throw new BadInputException(
                        "--output " + output + " is given twice; name each output once");
            }
            AtomicOutput.checkTarget("--output", fs, qualified, config.overwrite());
        }
        return targets;
    }

    /** The one line under the PNG's title. */
    private static String headline(Summary s) {
        StringBuilder b = new StringBuilder();
        b.append(
                String.format(
                        Locale.ROOT,
                        "round %d  ·  step %,d  ·  %,d tokens",
                        s.lastRound(),
                        s.steps(),
                        s.tokens()));
        if (s.lastLoss() != null) {
            b.append("  ·  training loss ")
                    .append(String.format(Locale.ROOT, "%.3f", s.lastLoss()));
        }
        if (s.bestEvalLoss() != null) {
            b.append(
                    String.format(
                            Locale.ROOT,
                            "  ·  best validation loss %.3f at step %,d",
                            s.bestEvalLoss(),
                            s.bestEvalStep()));
        }
        if (s.meanTokensPerSecond() != null) {
            b.append(String.format(Locale.ROOT, "  ·  %,.0f tokens/s", s.meanTokensPerSecond()));
        }
        return b.toString();
    }

    private static Map<String, String> summaryRows(Summary s) {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("rounds", String.format(Locale.ROOT, "%,d", s.lastRound()));
        rows.put("steps", String.format(Locale.ROOT, "%,d", s.steps()));
        rows.put("tokens", String.format(Locale.ROOT, "%,d", s.tokens()));
        rows.put("training loss, first", loss(s.firstLoss()));
        rows.put("training loss, last", loss(s.lastLoss()));
        rows.put("evaluations", String.format(Locale.ROOT, "%,d", s.evaluations()));
        rows.put("validation loss, first", loss(s.firstEvalLoss()));
        rows.put("validation loss, last", loss(s.lastEvalLoss()));
        rows.put(
                "validation loss, best",
                s.bestEvalLoss() == null
                        ? ABSENT
                        : String.format(
                                Locale.ROOT,
                                "%s (step %,d)",
                                loss(s.bestEvalLoss()),
                                s.bestEvalStep()));
        rows.put(
                "mean tokens/s",
                s.meanTokensPerSecond() == null
                        ? ABSENT
                        : String.format(Locale.ROOT, "%,.0f", s.meanTokensPerSecond()));
        return rows;
    }

    /** A loss with 4 decimals, NaN as NaN, and a dash when the run logged none. */
    private static String loss(Double loss) {
        return loss == null ? ABSENT : String.format(Locale.ROOT, "%.4f", loss);
    }

    /** Every {@code eval_} value of the last evaluation. */
    private static Optional<ReportPage.Table> lastEvaluation(RunMetrics metrics) {
        List<Round> evaluated = metrics.evaluated();
        if (evaluated.isEmpty()) {
            return Optional.empty();
        }
        Round last = evaluated.get(evaluated.size() - 1);
        Map<String, String> rows = new LinkedHashMap<>();
        last.values()
                .forEach(
                        (key, value) -> {
                            if (key.startsWith(RunMetrics.EVAL)) {
                                rows.put(
                                        key.substring(RunMetrics.EVAL.length()).replace('_', ' '),
                                        number(value));
                            }
                        });
        return Optional.of(
                new ReportPage.Table(
                        String.format(
                                Locale.ROOT,
                                "Last evaluation (round %d, step %,d)",
                                last.round(),
                                last.step()),
                        rows));
    }

    /** Whole numbers with grouping, others with 4 decimals (6 significant digits when small). */
    private static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        if (Math.abs(v) < 1e-3) {
            return String.format(Locale.ROOT, "%.6g", v);
        }
        return String.format(Locale.ROOT, "%.4f", v);
    }

    /**
     * The latest checkpoint's trainer state (round, step, seeds, the full train config …),
     * flattened to dotted keys. Null when the run has no checkpoint yet, and also, with a warning,
     * when {@code latest} names no readable trainer state: the report goes on without it.
     */
    private static ReportPage.Table trainConfig(FileSystem fs, Path run, List<String> warnings) {
        Path checkpoints = new Path(run, CheckpointDirectory.CHECKPOINTS);
        Path latest = new Path(checkpoints, CheckpointDirectory.LATEST);
        try {
            if (!fs.isFile(latest)) {
                return null;
            }
            String name;
            try (InputStream in = fs.open(latest)) {
                name = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (name.isEmpty()
                    || name.contains("/")
                    || !fs.isFile(
                            new Path(
                                    new Path(checkpoints, name),
                                    CheckpointDirectory.TRAINER_STATE))) {
                warnings.add(
                        latest
                                + " names '"
                                + name
                                + "', which has no "
                                + CheckpointDirectory.TRAINER_STATE
                                + "; the page shows no train config");
                return null;
            }
            Path state = new Path(new Path(checkpoints, name), CheckpointDirectory.TRAINER_STATE);
            JsonNode json;
            try (InputStream in = fs.open(state)) {
                json = new ObjectMapper().readTree(in);
            } catch (JsonProcessingException e) {
                warnings.add(
                        state
                                + " is not JSON ("
                                + e.getOriginalMessage()
                                + "); the page shows no train config");
                return null;
            }
            Map<String, String> rows = new LinkedHashMap<>();
            flatten("", json, rows);
            return new ReportPage.Table(
                    "Train config ("
                            + CheckpointDirectory.CHECKPOINTS
                            + "/"
                            + name
                            + "/"
                            + CheckpointDirectory.TRAINER_STATE
                            + ")",
                    rows);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + latest, e);
        }
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> rows) {
        if (node.isObject() && !node.isEmpty()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                flatten(
                        prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(),
                        f.getValue(),
                        rows);
            }
            return;
        }
        String value = node.isValueNode() ? node.asText() : node.toString();
        if (value.length() > LONGEST_VALUE) {
            value = value.substring(0, LONGEST_VALUE) + "…";
        }
        rows.put(prefix.isEmpty() ? "(value)" : prefix, value);
    }
}
