package dev.lmspark.model.generate;

import java.io.IOException;

/**
 * Where generation history files go: a whole file at a time, by a relative path such as {@code
 * row-7/step-3.jsonl}. The caller decides what a path means (a local directory, a Hadoop file
 * system, a map in a test).
 */
@FunctionalInterface
public interface HistorySink {
    /** Writes (or replaces) the file at {@code path}. */
    void write(String path, byte[] contents) throws IOException;
}
