package dev.lmspark.jobs;

import dev.lmspark.jobs.RunMetrics.Round;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Stroke;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisSpace;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.DatasetRenderingOrder;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.HorizontalAlignment;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The panels of {@code report}, drawn with JFreeChart against the global step: (1) training loss,
 * its terms, and the validation loss; (2) validation metrics — the evaluation's loss terms, with
 * accuracies in percent on a second axis; (3) the learning rate; (4) throughput in tokens/s; (5)
 * where each round's time went (training, the Spark job beyond it, broadcast, the driver's combine
 * and outer step, evaluation, checkpoint); (6) each worker's training time; (7) the workers'
 * agreement with the global update's norm. A panel without data is left out, and so is (2) when it
 * would only repeat the validation loss of (1). A term that equals its total in every round (a CLM
 * run's {@code clm_loss}) is drawn once, named after the term.
 *
 * <p>Charts are drawn off screen: {@code java.awt.headless} is set before AWT is touched, so a
 * driver without a display (a cluster node, CI) draws them too.
 */
final class ReportCharts {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Width of the stacked image, pixels. */
    static final int WIDTH = 1200;

    /** Height of the stacked image's title band, pixels. */
    static final int HEADER = 76;

    /** Height of one panel, pixels. */
    static final int PANEL = 400;

    private static final Color TRAINING = new Color(0x4E79A7);
    private static final Color VALIDATION = new Color(0xE15759);
    private static final Color LEARNING_RATE = new Color(0xB07AA1);
    private static final Color THROUGHPUT = new Color(0x3A8F8A);
    private static final Color[] TERMS = {
        new Color(0xF28E2B), new Color(0x59A14F), new Color(0x9C755F), new Color(0xEDC948)
    };
    static final Color INK = new Color(0x222222);
    static final Color MUTED = new Color(0x666666);
    static final Color GRID = new Color(0xE4E4E4);

    static final String FONT = Font.SANS_SERIF;
    private static final Stroke LINE =
            new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    private static final Stroke DASHED =
            new BasicStroke(
                    2f,
                    BasicStroke.CAP_ROUND,
                    BasicStroke.JOIN_ROUND,
                    1f,
                    new float[] {7f, 5f},
                    0f);

    /** Width kept for the value axis on either side of every panel, pixels. */
    private static final double AXIS_SPACE = 78;

    /** Series with at most this many points show a marker at each point. */
    private static final int MARKED = 30;

    private ReportCharts() {}

    /** One line of a panel: {@code key}'s value in {@code rounds}, multiplied by {@code scale}. */
    private record Line(
            String label,
            List<Round> rounds,
            String key,
            Color colour,
            boolean dashed,
            boolean marked,
            double scale) {
        Line(String label, List<Round> rounds, String key, Color colour) {
            this(label, rounds, key, colour, false, false, 1);
        }

        XYSeries series() {
            XYSeries s = new XYSeries(label, false, true);
            for (Round r : rounds) {
                double v = r.get(key) * scale;
                // NaN (a diverged round) and absent values leave a gap rather than a spike.
                if (Double.isFinite(v)) {
                    s.add(r.step(), v);
                }
            }
            return s;
        }
    }

    /** The panels {@code metrics} has data for, in report order. */
    static List<JFreeChart> panels(RunMetrics metrics) {
        List<JFreeChart> panels = new ArrayList<>();
        loss(metrics).ifPresent(panels::add);
        validationMetrics(metrics).ifPresent(panels::add);
        List<Round> trained = metrics.trained();
        single(
                        "Learning rate",
                        "learning rate",
                        new Line("learning rate", trained, "lr", LEARNING_RATE))
                .ifPresent(
                        c -> {
                            fromZero(c).setNumberFormatOverride(new LearningRateFormat());
                            panels.add(c);
                        });
        single(
                        "Throughput",
                        "throughput (tokens/s)",
                        new Line("tokens/s", trained, "tokens_per_s", THROUGHPUT))
                .ifPresent(
                        c -> {
                            fromZero(c).setNumberFormatOverride(grouped());
                            panels.add(c);
                        });
        timeSplit(trained).ifPresent(panels::add);
        workerCompute(metrics, trained).ifPresent(panels::add);
        agreement(trained).ifPresent(panels::add);
        // One step range for every panel, so stacked panels line up, with a margin that keeps
        // the markers at either end whole.
        double first = metrics.rounds().stream().mapToLong(Round::step).min().orElse(0);
        double last = metrics.rounds().stream().mapToLong(Round::step).max().orElse(0);
        double margin = Math.max(1, 0.015 * (last - first));
        for (JFreeChart panel : panels) {
            panel.getXYPlot().getDomainAxis().setRange(first - margin, last + margin);
        }
        return panels;
    }

    /**
     * {@code chart}'s value axis, set to include zero: a constant rate or time is then a flat line,
     * not a zoomed-in band of noise.
     */
    private static NumberAxis fromZero(JFreeChart chart) {
        NumberAxis axis = (NumberAxis) chart.getXYPlot().getRangeAxis();
        axis.setAutoRangeIncludesZero(true);
        return axis;
    }

    /** Where a round's wall time went (train's time-split keys; runs before them have none). */
    private static Optional<JFreeChart> timeSplit(List<Round> trained) {
        if (trained.stream().noneMatch(r -> r.values().containsKey("job_s"))) {
            return Optional.empty();
        }
        List<Line> lines =
                List.of(
                        new Line("training (slowest worker)", trained, "compute_s", TRAINING),
                        new Line(
                                "Spark job beyond it",
                                trained,
                                RunMetrics.JOB_BEYOND_COMPUTE,
                                TERMS[1]),
                        new Line(
                                "worker setup (state, parameters, replica)",
                                trained,
                                "setup_s",
                                TERMS[2]),
                        new Line("broadcast (earlier versions)", trained, "broadcast_s", TERMS[2]),
                        new Line("combine + outer step", trained, RunMetrics.COMBINE, TERMS[3]),
                        new Line("evaluation", trained, "eval_s", VALIDATION, false, true, 1),
                        new Line("checkpoint", trained, "checkpoint_s", MUTED, true, false, 1));
        return chart("Time per round", "seconds", lines, List.of(), null)
                .map(
                        c -> {
                            fromZero(c);
                            return c;
                        });
    }

    /** Each worker's training time per round: stragglers stand out. */
    private static Optional<JFreeChart> workerCompute(RunMetrics metrics, List<Round> trained) {
        int workers = metrics.workers();
        if (workers == 0) {
            return Optional.empty();
        }
        List<Line> lines = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            lines.add(
                    new Line(
                            "worker " + w,
                            trained,
                            "worker_compute_s[" + w + "]",
                            TERMS[w % TERMS.length]));
        }
        return chart("Worker compute time", "seconds", lines, List.of(), null)
                .map(
                        c -> {
                            fromZero(c);
                            return c;
                        });
    }

    /** The workers' agreement (mean pairwise cosine of their deltas) and the update's size. */
    private static Optional<JFreeChart> agreement(List<Round> trained) {
        if (trained.stream().noneMatch(r -> r.values().containsKey("agreement"))) {
            return Optional.empty();
        }
        return chart(
                        "Worker agreement",
                        "mean pairwise cosine of the workers' updates",
                        List.of(new Line("agreement", trained, "agreement", TRAINING)),
                        List.of(
                                new Line(
                                        "global update norm",
                                        trained,
                                        "update_norm",
                                        THROUGHPUT,
                                        true,
                                        false,
                                        1)),
                        "update norm (L2)")
                .map(
                        c -> {
                            NumberAxis axis = (NumberAxis) c.getXYPlot().getRangeAxis();
                            axis.setRange(Math.min(0, minimum(trained, "agreement")), 1.0);
                            return c;
                        });
    }

    private static double minimum(List<Round> rounds, String key) {
        return rounds.stream()
                .mapToDouble(r -> r.get(key))
                .filter(Double::isFinite)
                .min()
                .orElse(0);
    }

    private static Optional<JFreeChart> loss(RunMetrics metrics) {
        List<Round> trained = metrics.trained();
        List<Line> lines = new ArrayList<>();
        if (!trained.isEmpty()) {
            String same = null;
            List<Line> terms = new ArrayList<>();
            for (String key : metrics.lossTerms(false)) {
                String term = RunMetrics.termName(key);
                if (RunMetrics.same(trained, key, "loss")) {
                    same = term;
                } else {
                    terms.add(
                            new Line(
                                    "training " + upper(term) + " loss",
                                    trained,
                                    key,
                                    colour(term)));
                }
            }
            String total =
                    !terms.isEmpty()
                            ? "training loss (total)"
                            : same != null ? "training " + upper(same) + " loss" : "training loss";
            lines.add(new Line(total, trained, "loss", TRAINING));
            lines.addAll(terms);
        }
        List<Round> evaluated = metrics.evaluated();
        List<Line> validation = evaluated.isEmpty() ? List.of() : List.of(validation(metrics));
        return chart("Training and validation loss", "loss (nats)", lines, validation, null);
    }

    private static Optional<JFreeChart> validationMetrics(RunMetrics metrics) {
        List<Round> evaluated = metrics.evaluated();
        if (evaluated.isEmpty()) {
            return Optional.empty();
        }
        List<Line> losses = new ArrayList<>();
        losses.add(validation(metrics));
        for (String key : metrics.lossTerms(true)) {
            if (!RunMetrics.same(evaluated, key, "eval_loss")) {
                String term = RunMetrics.termName(key);
                losses.add(
                        new Line(
                                "validation " + upper(term) + " loss",
                                evaluated,
                                key,
                                colour(term),
                                false,
                                true,
                                1));
            }
        }
        List<Line> accuracies = new ArrayList<>();
        for (String key : metrics.evalAccuracies()) {
            String term =
                    key.substring(RunMetrics.EVAL.length(), key.length() - "_accuracy".length());
            String loss = RunMetrics.EVAL + term + "_loss";
            // An accuracy takes the colour of its term's loss, dashed, so the pair reads together.
            Color colour =
                    RunMetrics.same(evaluated, loss, "eval_loss") ? VALIDATION : colour(term);
            accuracies.add(
                    new Line(
                            "validation " + upper(term) + " accuracy (%)",
                            evaluated,
                            key,
                            colour,
                            true,
                            true,
                            100));
        }
        if (losses.size() == 1 && accuracies.isEmpty()) {
            return Optional.empty(); // the validation loss alone is already in the loss panel
        }
        return chart("Validation metrics", "loss (nats)", losses, accuracies, "accuracy (%)");
    }

    /** The validation loss, named after the term it is (MLM or CLM) when the run logged that. */
    private static Line validation(RunMetrics metrics) {
        String label = "validation loss";
        for (String key : metrics.lossTerms(true)) {
            if (RunMetrics.same(metrics.evaluated(), key, "eval_loss")) {
                label = "validation " + upper(RunMetrics.termName(key)) + " loss";
                break;
            }
        }
        return new Line(label, metrics.evaluated(), "eval_loss", VALIDATION, false, true, 1);
    }

    private static Optional<JFreeChart> single(String title, String axis, Line line) {
        return chart(title, axis, List.of(line), List.of(), null);
    }

    /**
     * A panel of {@code lines} against the step axis, and of {@code second} either on the same axis
     * ({@code secondAxis} null) or on a right-hand axis labelled {@code secondAxis}; empty when no
     * line has a point.
     */
    private static Optional<JFreeChart> chart(
            String title, String axis, List<Line> lines, List<Line> second, String secondAxis) {
        XYSeriesCollection first = dataset(lines);
        XYSeriesCollection other = dataset(second);
        if (first.getSeriesCount() + other.getSeriesCount() == 0) {
            return Optional.empty();
        }
        NumberAxis steps = axis("step");
        steps.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        steps.setNumberFormatOverride(grouped());
        NumberAxis values = axis(axis);
        values.setAutoRangeIncludesZero(false);
        XYPlot plot = new XYPlot(first, steps, values, renderer(lines, first));
        plot.setDataset(1, other);
        plot.setRenderer(1, renderer(second, other));
        // Validation points and accuracies (dataset 1) on top of a dense training line.
        plot.setDatasetRenderingOrder(DatasetRenderingOrder.FORWARD);
        // The same axis widths in every panel, so stacked panels share their step positions.
        AxisSpace space = new AxisSpace();
        space.setLeft(AXIS_SPACE);
        space.setRight(AXIS_SPACE);
        plot.setFixedRangeAxisSpace(space);
        if (secondAxis != null) {
            NumberAxis right = axis(secondAxis);
            right.setAutoRangeIncludesZero(false);
            plot.setRangeAxis(1, right);
            plot.mapDatasetToRangeAxis(1, 1);
        }
        plot.setBackgroundPaint(Color.WHITE);
        plot.setOutlineVisible(false);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);
        plot.setDomainGridlineStroke(new BasicStroke(1f));
        plot.setRangeGridlineStroke(new BasicStroke(1f));
        plot.setAxisOffset(new RectangleInsets(4, 4, 4, 4));

        JFreeChart chart = new JFreeChart(null, null, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.setAntiAlias(true);
        chart.setTextAntiAlias(true);
        chart.setPadding(new RectangleInsets(6, 12, 8, 16));
        TextTitle heading = new TextTitle(title, new Font(FONT, Font.BOLD, 16));
        heading.setPaint(INK);
        heading.setHorizontalAlignment(HorizontalAlignment.LEFT);
        heading.setPadding(new RectangleInsets(4, 8, 6, 4));
        chart.setTitle(heading);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.TOP);
        legend.setHorizontalAlignment(HorizontalAlignment.RIGHT);
        legend.setFrame(BlockBorder.NONE);
        legend.setItemFont(new Font(FONT, Font.PLAIN, 13));
        legend.setItemPaint(INK);
        legend.setBackgroundPaint(Color.WHITE);
        return Optional.of(chart);
    }

    private static XYSeriesCollection dataset(List<Line> lines) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Line line : lines) {
            XYSeries s = line.series();
            if (s.getItemCount() > 0) {
                data.addSeries(s);
            }
        }
        return data;
    }

    private static XYLineAndShapeRenderer renderer(List<Line> lines, XYSeriesCollection data) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        r.setDrawSeriesLineAsPath(true); // one path per series, so dashes run on across points
        r.setLegendLine(new Line2D.Double(-12, 0, 12, 0));
        for (int s = 0; s < data.getSeriesCount(); s++) {
            Comparable<?> key = data.getSeriesKey(s);
            Line line = lines.stream().filter(l -> l.label().equals(key)).findFirst().orElseThrow();
            r.setSeriesPaint(s, line.colour());
            r.setSeriesStroke(s, line.dashed() ? DASHED : LINE);
            r.setSeriesShape(s, new Ellipse2D.Double(-3.5, -3.5, 7, 7));
            r.setSeriesShapesVisible(s, line.marked() || data.getItemCount(s) <= MARKED);
        }
        return r;
    }

    private static NumberAxis axis(String label) {
        NumberAxis axis = new NumberAxis(label);
        axis.setLabelFont(new Font(FONT, Font.PLAIN, 13));
        axis.setLabelPaint(MUTED);
        axis.setTickLabelFont(new Font(FONT, Font.PLAIN, 12));
        axis.setTickLabelPaint(MUTED);
        axis.setAxisLinePaint(GRID.darker());
        axis.setTickMarkPaint(GRID.darker());
        return axis;
    }

    /** Learning rates as {@code 3e-4}, {@code 2.5e-4} and {@code 0}: the way they are set. */
    private static final class LearningRateFormat extends NumberFormat {
        private final DecimalFormat scientific =
                new DecimalFormat("0.##E0", DecimalFormatSymbols.getInstance(Locale.ROOT));

        @Override
        public StringBuffer format(double v, StringBuffer to, FieldPosition pos) {
            return to.append(v == 0 ? "0" : scientific.format(v).replace('E', 'e'));
        }

        @Override
        public StringBuffer format(long v, StringBuffer to, FieldPosition pos) {
            return format((double) v, to, pos);
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            return scientific.parse(source.replace('e', 'E'), pos);
        }
    }

    private static DecimalFormat grouped() {
        return new DecimalFormat("#,##0", DecimalFormatSymbols.getInstance(Locale.ROOT));
    }

    /** A loss term's colour, the same in every panel: MLM or CLM, NSP, then any other. */
    private static Color colour(String term) {
        return switch (term) {
            case "mlm", "clm" -> TERMS[0];
            case "nsp" -> TERMS[1];
            default -> TERMS[2 + Math.floorMod(term.hashCode(), TERMS.length - 2)];
        };
    }

    private static String upper(String term) {
        return term.toUpperCase(Locale.ROOT);
    }
}
