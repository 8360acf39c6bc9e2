package dev.lmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmspark.cli.CommandLineRun;
import dev.lmspark.cli.Main;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code report} through the command line, on metrics files written here as {@code train} writes
 * them: an MLM+NSP run evaluating every 5 rounds (with round 0 and keys report does not know), a
 * causal run, and a run in progress whose last line is half written.
 */
class ReportCommandTest {
    @TempDir Path dir;

    /** 30 MLM+NSP rounds of 10 steps; evaluations at rounds 0, 5, 10 … 30. */
    static List<String> mlmRun(int rounds) {
        List<String> lines = new ArrayList<>();
        lines.add(
                "{\"round\":0,\"step\":0,\"tokens\":0,\"loss\":9.07,\"lr\":0.0,\"eval_loss\":9.07,"
                        + "\"eval_mlm_loss\":9.07,\"eval_mlm_accuracy\":0.0,\"eval_nsp_loss\":0.69,"
                        + "\"eval_nsp_accuracy\":0.5,\"eval_perplexity\":8690.0,"
                        + "\"eval_examples\":408,\"eval_tokens\":28411}");
        for (int r = 1; r <= rounds; r++) {
            int step = 10 * r;
            double nsp = 0.3 + 0.39 * Math.exp(-step / 120.0) + 0.02 * Math.sin(r);
            double mlm = 2.4 + 6.0 * Math.exp(-step / 90.0) + 0.05 * Math.sin(3 * r);
            double lr = step <= 50 ? 0.001 * step / 50 : 0.001 * (1 - (step - 50) / 300.0);
            StringBuilder b = new StringBuilder();
            b.append(
                    String.format(
                            Locale.ROOT,
                            "{\"round\":%d,\"step\":%d,\"tokens\":%d,\"examples\":%d,"
                                    + "\"loss\":%.6f,\"mlm_loss\":%.6f,\"nsp_loss\":%.6f,"
                                    + "\"lr\":%.8f,\"tokens_per_s\":%.1f,\"round_s\":8.5,"
                                    + "\"elapsed_s\":%.1f,\"workers\":[0,1],"
                                    + "\"host\":\"exec-1\",\"worker_s\":{\"0\":4.1,\"1\":4.3}",
                            r,
                            step,
                            4096L * step,
                            32 * step,
                            mlm + nsp,
                            mlm,
                            nsp,
                            lr,
                            4800 + 60 * Math.sin(r),
                            8.8 * r));
            if (r % 5 == 0) {
                double eval = 2.6 + 6.0 * Math.exp(-step / 90.0);
                double evalNsp = 0.35 + 0.34 * Math.exp(-step / 120.0);
                b.append(
                        String.format(
                                Locale.ROOT,
                                ",\"eval_loss\":%.6f,\"eval_mlm_loss\":%.6f,"
                                        + "\"eval_mlm_accuracy\":%.4f,\"eval_nsp_loss\":%.6f,"
                                        + "\"eval_nsp_accuracy\":%.4f,\"eval_perplexity\":%.2f,"
                                        + "\"eval_examples\":408,\"eval_tokens\":28411",
                                eval,
                                eval,
                                0.45 * (1 - Math.exp(-step / 100.0)),
                                evalNsp,
                                0.5 + 0.3 * (1 - Math.exp(-step / 100.0)),
                                Math.exp(eval)));
            }
            lines.add(b.append('}').toString());
        }
        return lines;
    }

    /** 20 causal rounds without round 0, evaluating every 4. */
    static List<String> clmRun() {
        List<String> lines = new ArrayList<>();
        for (int r = 1; r <= 20; r++) {
            int step = 25 * r;
            double loss = 1.9 + 4.5 * Math.exp(-step / 150.0);
            StringBuilder b = new StringBuilder();
            b.append(
                    String.format(
                            Locale.ROOT,
                            "{\"round\":%d,\"step\":%d,\"tokens\":%d,\"examples\":%d,\"loss\":%.6f,"
                                    + "\"clm_loss\":%.6f,\"lr\":0.0003,\"tokens_per_s\":%.1f,"
                                    + "\"round_s\":12.0,\"elapsed_s\":%.1f",
                            r,
                            step,
                            16384L * step,
                            32 * step,
                            loss,
                            loss,
                            12500 + 200 * Math.cos(r),
                            12.2 * r));
            if (r % 4 == 0) {
                double eval = loss + 0.1;
                b.append(
                        String.format(
                                Locale.ROOT,
                                ",\"eval_loss\":%.6f,\"eval_clm_loss\":%.6f,"
                                        + "\"eval_perplexity\":%.3f,\"eval_examples\":64,"
                                        + "\"eval_tokens\":32768",
                                eval,
                                eval,
                                Math.exp(eval)));
            }
            lines.add(b.append('}').toString());
        }
        return lines;
    }

    private Path runDir(String name, List<String> lines, String tail) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        Files.writeString(run.resolve("metrics.jsonl"), String.join("\n", lines) + "\n" + tail);
        return run;
    }

    private static CommandLineRun ok(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(0, r.status(), String.join(" ", args) + " failed: " + r.err());
        return r;
    }

    private static CommandLineRun fails(String... args) {
        CommandLineRun r = CommandLineRun.of(args);
        assertEquals(Main.USAGE, r.status(), String.join(" ", args) + ": " + r.out() + r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("lmspark report: "), r.err());
        assertEquals("", r.out());
        return r;
    }

    private static String loss(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static double value(String line, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":([-0-9.eE]+)").matcher(line);
        assertTrue(m.find(), key + " in " + line);
        return Double.parseDouble(m.group(1));
    }

    /** The PNG at {@code file}: decoded, of the stacked size for {@code panels} panels. */
    private static BufferedImage png(Path file, int panels) throws IOException {
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(ReportCharts.WIDTH, image.getWidth());
        assertEquals(ReportCharts.HEADER + panels * ReportCharts.PANEL, image.getHeight());
        for (int p = 0; p < panels; p++) {
            assertDrawn(image, ReportCharts.HEADER + p * ReportCharts.PANEL, ReportCharts.PANEL);
        }
        return image;
    }

    /** The band of {@code height} rows from {@code top} has lines, text and shades in it. */
    private static void assertDrawn(BufferedImage image, int top, int height) {
        Set<Integer> colours = new HashSet<>();
        int inked = 0;
        for (int y = top; y < top + height; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                if (rgb != 0xFFFFFF) {
                    inked++;
                }
            }
        }
        assertTrue(colours.size() > 60, "panel at y=" + top + ": " + colours.size() + " colours");
        double fraction = inked / (double) (image.getWidth() * height);
        assertTrue(fraction > 0.03 && fraction < 0.6, "panel at y=" + top + ": inked " + fraction);
    }

    /** Pixels of exactly {@code rgb} in the band of panel {@code panel}. */
    private static int pixels(BufferedImage image, int panel, int rgb) {
        int n = 0;
        int top = ReportCharts.HEADER + panel * ReportCharts.PANEL;
        for (int y = top; y < top + ReportCharts.PANEL; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xFFFFFF) == rgb) {
                    n++;
                }
            }
        }
        return n;
    }

    /** The page: self-contained, and its embedded charts decode at twice the panel size. */
    private static String page(Path file, int charts) throws IOException {
        String html = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(html.startsWith("<!DOCTYPE html>"), html.substring(0, 40));
        assertFalse(html.contains("http://"), "the page references http://");
        assertFalse(html.contains("https://"), "the page references https://");
        assertFalse(html.contains("href="), "the page links to something");
        assertFalse(html.contains("<script"), "the page has a script");
        assertFalse(html.contains("url("), "the page's CSS loads something");
        Matcher src = Pattern.compile("src=\"([^\"]*)\"").matcher(html);
        int images = 0;
        while (src.find()) {
            String uri = src.group(1);
            assertTrue(uri.startsWith("data:image/png;base64,"), uri.substring(0, 30));
            BufferedImage image =
                    ImageIO.read(
                            new ByteArrayInputStream(
                                    Base64.getDecoder()
                                            .decode(uri.substring(uri.indexOf(',') + 1))));
            assertEquals(2 * ReportCharts.WIDTH, image.getWidth());
            assertEquals(2 * ReportCharts.PANEL, image.getHeight());
            assertDrawn(image, 0, image.getHeight());
            images++;
        }
        assertEquals(charts, images, "embedded charts");
        assertEquals(images, html.split("src=", -1).length - 1, "a src= that is not quoted");
        return html;
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.contains("lmspark-tmp") || n.contains("lmspark-old"))
                    .toList();
        }
    }

    @Test
    void anMlmRunWithEvaluationsGetsFourPanelsASummaryAndItsConfig() throws IOException {
        List<String> lines = mlmRun(30);
        Path run = runDir("mlm-run", lines, "");
        Path round = Files.createDirectories(run.resolve("checkpoints/round-000030"));
        Files.writeString(run.resolve("checkpoints/latest"), "round-000030\n");
        Files.writeString(
                round.resolve("trainer_state.json"),
                "{\"format_version\":1,\"round\":30,\"step\":300,\"seeds\":{\"root\":42},"
                        + "\"config\":{\"model\":\"bert-mini\",\"workers\":2,\"local_steps\":10,"
                        + "\"lr\":0.001,\"lr_schedule\":\"linear\",\"data\":\"hdfs:/data/<wiki>\"}}");

        CommandLineRun r = ok("report", "--run", run.toString());
        assertEquals("", r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        Path png = run.resolve("report.png");
        Path html = run.resolve("report.html");
        assertTrue(r.out().startsWith("report: wrote "), r.out());
        assertTrue(r.out().contains(png.toString()) && r.out().contains(html.toString()), r.out());
        assertTrue(r.out().contains("(round 30, step 300)"), r.out());
        assertEquals(List.of(), leftovers());

        BufferedImage image = png(png, 4);
        // The training loss and validation loss lines are drawn, not only their legend swatches.
        assertTrue(pixels(image, 0, 0x4E79A7) > 400, "training loss line");
        assertTrue(pixels(image, 0, 0xE15759) > 200, "validation loss line and points");
        assertTrue(pixels(image, 2, 0xB07AA1) > 400, "learning rate line");

        String page = page(html, 4);
        List<String> trained = lines.subList(1, lines.size());
        double meanSpeed =
                trained.stream().mapToDouble(l -> value(l, "tokens_per_s")).average().orElseThrow();
        List<String> evaluated = lines.stream().filter(l -> l.contains("eval_loss")).toList();
        double best =
                evaluated.stream().mapToDouble(l -> value(l, "eval_loss")).min().orElseThrow();
        for (String expected :
                List.of(
                        "<th>rounds</th><td>30</td>",
                        "<th>steps</th><td>300</td>",
                        "<th>tokens</th><td>1,228,800</td>",
                        "<th>evaluations</th><td>7</td>",
                        "<td>" + loss(value(trained.get(0), "loss")) + "</td>",
                        "<td>" + loss(value(trained.get(29), "loss")) + "</td>",
                        "<td>9.0700</td>",
                        "<td>" + loss(best) + " (step 300)</td>",
                        "<td>" + String.format(Locale.ROOT, "%,.0f", meanSpeed) + "</td>",
                        "Last evaluation (round 30, step 300)",
                        "<th>nsp accuracy</th>",
                        "Train config (checkpoints/round-000030/trainer_state.json)",
                        "<th>config.model</th><td>bert-mini</td>",
                        "<th>seeds.root</th><td>42</td>",
                        // Values from the files are escaped, never markup.
                        "hdfs:/data/&lt;wiki&gt;")) {
            assertTrue(page.contains(expected), expected + " is not on the page");
        }
    }

    @Test
    void trainsTelemetryAddsTheTimeSplitWorkerAndAgreementPanels() throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line : mlmRun(30)) {
            int r = (int) value(line, "round");
            if (r == 0) {
                lines.add(line);
                continue;
            }
            // Three workers, worker 2 a straggler from round 20; agreement falling as the loss
            // flattens; a checkpoint every 10 rounds; the evaluation's time where it evaluated.
            double w0 = 4.0 + 0.1 * Math.sin(r);
            double w1 = 4.1 + 0.1 * Math.cos(r);
            double w2 = r >= 20 ? 6.5 : 4.2;
            double compute = Math.max(w0, Math.max(w1, w2));
            String telemetry =
                    String.format(
                            Locale.ROOT,
                            ",\"compute_s\":%.3f,\"broadcast_s\":0.05,\"job_s\":%.3f,"
                                    + "\"aggregate_s\":0.2,\"outer_s\":0.02,"
                                    + "\"worker_compute_s\":[%.3f,%.3f,%.3f],"
                                    + "\"worker_delta_norm\":[1.1,1.2,1.0],"
                                    + "\"agreement\":%.4f,\"update_norm\":%.4f,"
                                    + "\"checkpoint_s\":%.2f%s}",
                            compute,
                            compute + 0.6,
                            w0,
                            w1,
                            w2,
                            0.2 + 0.7 * Math.exp(-r / 8.0),
                            0.5 + 0.6 * Math.exp(-r / 8.0),
                            r % 10 == 0 ? 1.5 : 0.0,
                            r % 5 == 0 ? ",\"eval_s\":2.5" : "");
            lines.add(line.substring(0, line.length() - 1) + telemetry);
        }
        Path run = runDir("telemetry-run", lines, "");

        ok("report", "--run", run.toString());
        BufferedImage image = png(run.resolve("report.png"), 7);
        // Time split: the training line; worker compute: one line per worker (the straggler's
        // colour drawn); agreement: its line.
        assertTrue(pixels(image, 4, 0x4E79A7) > 300, "training time line");
        assertTrue(pixels(image, 5, 0x59A14F) + pixels(image, 5, 0xF28E2B) > 300, "worker lines");
        assertTrue(pixels(image, 6, 0x4E79A7) > 300, "agreement line");
        String page = page(run.resolve("report.html"), 7);
        for (String title : List.of("Time per round", "Worker compute time", "Worker agreement")) {
            assertTrue(page.contains(title), title + " is not on the page");
        }
    }

    @Test
    void aCausalRunSkipsTheValidationPanelThatWouldRepeatItsLoss() throws IOException {
        List<String> lines = clmRun();
        Path run = runDir("clm-run", lines, "");
        Path round = Files.createDirectories(run.resolve("checkpoints/round-000020"));
        Files.writeString(run.resolve("checkpoints/latest"), "round-000020\n");
        Files.writeString(round.resolve("trainer_state.json"), "{\"round\": 20, \"config\": {");
        Path out = dir.resolve("reports");
        Path png = out.resolve("clm.PNG");
        Path html = out.resolve("clm.html");
        CommandLineRun r =
                ok(
                        "report",
                        "--run",
                        run.toUri().toString(),
                        "--output",
                        html.toString(),
                        "--output",
                        png.toString());
        assertTrue(r.out().indexOf("clm.html") < r.out().indexOf("clm.PNG"), r.out());
        // A damaged trainer state costs the page its config table, not the report.
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("round-000020/trainer_state.json is not JSON"), r.err());
        assertFalse(Files.exists(run.resolve("report.png")));
        assertFalse(Files.exists(run.resolve("report.html")));

        BufferedImage image = png(png, 3); // loss, learning rate, throughput
        assertTrue(pixels(image, 0, 0x4E79A7) > 400, "training loss line");
        assertTrue(pixels(image, 0, 0xE15759) > 100, "validation points");
        // clm_loss equals loss: drawn once, so the term colour appears nowhere.
        assertTrue(pixels(image, 0, 0xF28E2B) < 10, "a CLM term line drawn over the total");

        String page = page(html, 3);
        assertTrue(page.contains("<th>rounds</th><td>20</td>"), page);
        assertTrue(page.contains("<td>" + loss(value(lines.get(0), "loss")) + "</td>"));
        assertTrue(page.contains("<td>" + loss(value(lines.get(19), "loss")) + "</td>"));
        assertTrue(page.contains("<th>clm loss</th>"));
        assertFalse(page.contains("Train config"), "a config table from a damaged file");
    }

    @Test
    void aRunInProgressIsReportedWithoutItsPartialLastLine() throws IOException {
        List<String> lines = mlmRun(7);
        Path run = runDir("live-run", lines, "{\"round\":8,\"step\":80,\"tok");
        // Its checkpoint is being written: latest names one without a trainer state yet.
        Files.createDirectories(run.resolve("checkpoints/round-000005"));
        Files.writeString(run.resolve("checkpoints/latest"), "round-000005\n");

        CommandLineRun r = ok("report", "--run", run.toString());
        assertTrue(r.out().contains("(round 7, step 70)"), r.out());
        List<String> warnings = r.errLines();
        assertEquals(2, warnings.size(), r.err());
        assertTrue(
                warnings.get(0).startsWith("report: warning: ")
                        && warnings.get(0).contains("metrics.jsonl line 9 is incomplete"),
                warnings.get(0));
        assertTrue(warnings.get(1).contains("trainer_state.json"), warnings.get(1));

        png(run.resolve("report.png"), 4);
        String page = page(run.resolve("report.html"), 4);
        assertTrue(page.contains("<th>rounds</th><td>7</td>"), page);
        assertTrue(page.contains("metrics.jsonl line 9 is incomplete"), "warning not on the page");
    }

    @Test
    void aDivergedRunShowsItsNaNLossAndDrawsTheRoundsBefore() throws IOException {
        List<String> lines = new ArrayList<>(clmRun().subList(0, 8));
        // Java's JSON writers emit a NaN double bare; the rounds after divergence carry it.
        lines.add(
                "{\"round\":9,\"step\":225,\"tokens\":3686400,\"loss\":NaN,\"clm_loss\":NaN,"
                        + "\"lr\":0.0003,\"tokens_per_s\":12000.0}");
        Path run = runDir("diverged", lines, "");
        ok("report", "--run", run.toString());
        BufferedImage image = png(run.resolve("report.png"), 3);
        assertTrue(pixels(image, 0, 0x4E79A7) > 300, "training loss line");
        String page = page(run.resolve("report.html"), 3);
        assertTrue(page.contains("<th>training loss, last</th><td>NaN</td>"), page);
        assertTrue(page.contains("<td>" + loss(value(lines.get(0), "loss")) + "</td>"), page);
    }

    @Test
    void existingOutputsAreRefusedUnlessOverwriteAndThenReplacedWhole() throws IOException {
        Path run = runDir("again", mlmRun(6), "");
        ok("report", "--run", run.toString());
        byte[] png = Files.readAllBytes(run.resolve("report.png"));
        byte[] html = Files.readAllBytes(run.resolve("report.html"));

        // More rounds arrive; a second report is refused and changes nothing.
        Files.write(
                run.resolve("metrics.jsonl"), (String.join("\n", mlmRun(12)) + "\n").getBytes());
        CommandLineRun refused = fails("report", "--run", run.toString());
        assertTrue(refused.err().contains("report.png already exists"), refused.err());
        assertTrue(refused.err().contains("--overwrite"), refused.err());
        assertArrayEquals(png, Files.readAllBytes(run.resolve("report.png")));
        assertArrayEquals(html, Files.readAllBytes(run.resolve("report.html")));

        // Only the HTML exists at the new names' place: still refused, and no PNG is written.
        Path other = dir.resolve("other.png");
        CommandLineRun partly =
                fails(
                        "report",
                        "--run",
                        run.toString(),
                        "--output",
                        other.toString(),
                        "--output",
                        run.resolve("report.html").toString());
        assertTrue(partly.err().contains("report.html already exists"), partly.err());
        assertFalse(Files.exists(other));

        CommandLineRun replaced = ok("report", "--run", run.toString(), "--overwrite");
        assertTrue(replaced.out().contains("(round 12, step 120)"), replaced.out());
        png(run.resolve("report.png"), 4);
        assertTrue(page(run.resolve("report.html"), 4).contains("<th>rounds</th><td>12</td>"));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void anOutputThatIsNeitherPngNorHtmlIsAFlagError() throws IOException {
        Path run = runDir("flags", mlmRun(2), "");
        CommandLineRun r =
                CommandLineRun.of(
                        "report",
                        "--run",
                        run.toString(),
                        "--output",
                        dir.resolve("r.pdf").toString());
        assertEquals(Main.USAGE, r.status(), r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("r.pdf ends in neither .png nor .html"), r.err());
        assertFalse(Files.exists(dir.resolve("r.pdf")));
        assertFalse(Files.exists(run.resolve("report.png")));
    }

    @Test
    void badRunsEndWithOneLineNamingTheFileAndTheFix() throws IOException {
        Path missing = dir.resolve("nowhere");
        assertTrue(fails("report", "--run", missing.toString()).err().contains("does not exist"));

        Path noMetrics = Files.createDirectories(dir.resolve("no-metrics"));
        String err = fails("report", "--run", noMetrics.toString()).err();
        assertTrue(err.contains("has no metrics.jsonl") && err.contains("train run"), err);

        Path empty = runDir("empty", List.of(), "");
        err = fails("report", "--run", empty.toString()).err();
        assertTrue(err.contains("metrics.jsonl holds no complete metrics record"), err);

        List<String> lines = new ArrayList<>(mlmRun(4));
        lines.set(2, lines.get(2).substring(0, 40));
        Path torn = runDir("torn", lines, "");
        err = fails("report", "--run", torn.toString()).err();
        assertTrue(err.contains("metrics.jsonl line 3 is not JSON"), err);
        assertTrue(err.contains("repair or delete that line"), err);

        lines = new ArrayList<>(mlmRun(4));
        lines.set(1, lines.get(1).replace("\"lr\":", "\"learning_rate\":"));
        Path noLr = runDir("no-lr", lines, "");
        err = fails("report", "--run", noLr.toString()).err();
        assertTrue(err.contains("metrics.jsonl line 2 has no numeric 'lr'"), err);

        lines = new ArrayList<>(mlmRun(4));
        lines.set(3, lines.get(3) + lines.get(4));
        Path glued = runDir("glued", lines, "");
        assertTrue(fails("report", "--run", glued.toString()).err().contains("line 4"));

        for (Path run : List.of(noMetrics, empty, torn, noLr, glued)) {
            assertFalse(Files.exists(run.resolve("report.png")), run.toString());
            assertFalse(Files.exists(run.resolve("report.html")), run.toString());
        }
        assertEquals(List.of(), leftovers());
    }
}
