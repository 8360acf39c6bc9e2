package dev.lmspark.spark;

import java.util.Locale;

/** How a corpus file holds its documents. */
public enum InputFormat {
    /** One document per non-blank line. */
    LINES,
    /** Documents separated by blank lines. */
    PARAGRAPHS,
    /** One JSON object per line; the document is its text field. */
    JSONL,
    /** Parquet files; the document is the text column. */
    PARQUET;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a flag value, naming the accepted ones when it is wrong. */
    public static InputFormat fromCliName(String name) {
        for (InputFormat f : values()) {
            if (f.cliName().equalsIgnoreCase(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException(
                "unknown input format '" + name + "'; use lines, paragraphs, jsonl or parquet");
    }

    /**
     * The format a path's extension implies ({@code .gz} looked through): {@code .jsonl}/{@code
     * .json} → jsonl, {@code .parquet} → parquet, anything else → lines.
     */
    public static InputFormat fromPath(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".gz")) {
            p = p.substring(0, p.length() - 3);
        }
        if (p.endsWith(".jsonl") || p.endsWith(".json")) {
            return JSONL;
        }
        if (p.endsWith(".parquet")) {
            return PARQUET;
        }
        return LINES;
    }
}
