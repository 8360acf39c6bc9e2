package dev.lmspark.jobs;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;

/** The report's charts as images: the panels stacked under a title band, or one panel alone. */
final class ReportImages {
    private ReportImages() {}

    /**
     * The panels stacked under a title band: {@value ReportCharts#WIDTH} px wide, {@value
     * ReportCharts#HEADER} + {@value #PANEL} px per panel high.
     */
    static BufferedImage stacked(String title, String subtitle, List<JFreeChart> panels) {
        int height = ReportCharts.HEADER + ReportCharts.PANEL * panels.size();
        BufferedImage image =
                new BufferedImage(ReportCharts.WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(image, 1);
        try {
            g.setColor(ReportCharts.INK);
            g.setFont(new Font(ReportCharts.FONT, Font.BOLD, 24));
            g.drawString(title, 24, 38);
            g.setColor(ReportCharts.MUTED);
            g.setFont(new Font(ReportCharts.FONT, Font.PLAIN, 14));
            g.drawString(subtitle, 24, 62);
            g.setColor(ReportCharts.GRID);
            g.fillRect(24, ReportCharts.HEADER - 2, ReportCharts.WIDTH - 48, 1);
            for (int i = 0; i < panels.size(); i++) {
                panels.get(i)
                        .draw(
                                g,
                                new Rectangle2D.Double(
                                        0,
                                        ReportCharts.HEADER + ReportCharts.PANEL * i,
                                        ReportCharts.WIDTH,
                                        ReportCharts.PANEL));
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /**
     * One panel, {@value ReportCharts#WIDTH} × {@value ReportCharts#PANEL} px drawn at {@code
     * scale} times the pixels (2 for pages read on high-density screens).
     */
    static BufferedImage single(JFreeChart panel, int scale) {
        BufferedImage image =
                new BufferedImage(
                        ReportCharts.WIDTH * scale,
                        ReportCharts.PANEL * scale,
                        BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(image, scale);
        try {
            panel.draw(g, new Rectangle2D.Double(0, 0, ReportCharts.WIDTH, ReportCharts.PANEL));
        } finally {
            g.dispose();
        }
        return image;
    }

    private static Graphics2D canvas(BufferedImage image, int scale) {
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(
                RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setRenderingHint(
                RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.scale(scale, scale);
        return g;
    }

    /** {@code image} as PNG bytes. */
    static byte[] png(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode a PNG image", e);
        }
        return out.toByteArray();
    }
}
