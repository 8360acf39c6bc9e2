package dev.lmspark.jobs;

import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The HTML page of {@code report}: one self-contained file that opens anywhere, offline — inline
 * CSS, charts as PNG {@code data:} URIs, no script and no reference to another file or host.
 */
final class ReportPage {
    private ReportPage() {}

    /** One chart: its heading (alt text) and PNG bytes drawn at {@code scale} × its CSS size. */
    record Chart(String heading, byte[] png, int width, int height) {}

    /** A two-column table with a caption. */
    record Table(String caption, Map<String, String> rows) {}

    private static final String CSS =
            """
            :root { color-scheme: light; }
            body { margin: 0; background: #f6f7f9; color: #222;
              font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
            main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 48px; }
            h1 { font-size: 26px; margin: 0 0 2px; }
            .path { color: #666; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
              font-size: 13px; word-break: break-all; margin: 0 0 18px; }
            .warnings { background: #fff7e0; border: 1px solid #f0d48a; border-radius: 6px;
              padding: 8px 14px; margin: 0 0 18px; }
            .warnings p { margin: 4px 0; }
            section { background: #fff; border: 1px solid #e3e5e8; border-radius: 8px;
              padding: 14px 18px; margin: 0 0 18px; }
            h2 { font-size: 17px; margin: 0 0 10px; }
            figure { margin: 0; }
            figure + figure { border-top: 1px solid #eee; margin-top: 8px; padding-top: 8px; }
            img { display: block; max-width: 100%; height: auto; }
            .tables { display: flex; flex-wrap: wrap; gap: 18px; }
            .tables section { flex: 1 1 420px; margin: 0 0 18px; }
            table { border-collapse: collapse; width: 100%; font-size: 14px; }
            th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eef0f2;
              vertical-align: top; }
            th { font-weight: 500; color: #555; width: 45%; }
            td { font-variant-numeric: tabular-nums; }
            .config td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px;
              word-break: break-all; }
            tr:nth-child(even) { background: #fafbfc; }
            """;

    /**
     * The page.
     *
     * @param title the run directory's name
     * @param path the run directory
     * @param warnings what was skipped while reading, shown above the charts
     * @param tables summary tables, side by side
     * @param charts the panels, stacked
     * @param config the training configuration, or null
     */
    static String html(
            String title,
            String path,
            List<String> warnings,
            List<Table> tables,
            List<Chart> charts,
            Table config) {
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append(
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>")
                .append(escape(title))
                .append(" — lmspark report</title>\n<style>\n")
                .append(CSS)
                .append("</style>\n</head>\n<body>\n<main>\n<h1>")
                .append(escape(title))
                .append("</h1>\n<p class=\"path\">")
                .append(escape(path))
                .append("</p>\n");
        if (!warnings.isEmpty()) {
            h.append("<div class=\"warnings\">\n");
            for (String w : warnings) {
                h.append("<p>").append(escape(w)).append("</p>\n");
            }
            h.append("</div>\n");
        }
        h.append("<div class=\"tables\">\n");
        for (Table t : tables) {
            table(h, t, "summary");
        }
        h.append("</div>\n");
        if (!charts.isEmpty()) {
            h.append("<section>\n<h2>Curves</h2>\n");
            for (Chart c : charts) {
                h.append("<figure><img alt=\"")
                        .append(escape(c.heading()))
                        .append("\" width=\"")
                        .append(c.width())
                        .append("\" height=\"")
                        .append(c.height())
                        .append("\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(c.png()))
                        .append("\"></figure>\n");
            }
            h.append("</section>\n");
        }
        if (config != null) {
            table(h, config, "config");
        }
        h.append("</main>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void table(StringBuilder h, Table t, String cssClass) {
        h.append("<section class=\"")
                .append(cssClass)
                .append("\">\n<h2>")
                .append(escape(t.caption()))
                .append("</h2>\n<table>\n");
        t.rows()
                .forEach(
                        (k, v) ->
                                h.append("<tr><th>")
                                        .append(escape(k))
                                        .append("</th><td>")
                                        .append(escape(v))
                                        .append("</td></tr>\n"));
        h.append("</table>\n</section>\n");
    }

    /** {@code s} as HTML text or attribute value. */
    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
