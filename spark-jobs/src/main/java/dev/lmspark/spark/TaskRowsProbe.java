package dev.lmspark.spark;

import java.util.Iterator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Where something outside lmspark may look at the rows a data-preparation task hands on (the
 * tokenizing stages, the shard writer): a service interface, loaded with {@link ServiceLoader} on
 * the driver and every executor. lmspark ships no implementation, so in production every rows
 * iterator passes through untouched; its tests register one (on their own classpath) that makes a
 * chosen task attempt fail midway, as a task dying on a lost executor would, to check that retries
 * leave the same shards.
 */
public interface TaskRowsProbe {
    /**
     * The rows of a task of {@code stage} ({@code tokenize}, {@code write}) as this probe hands
     * them on: {@code rows} itself when it has nothing to do.
     */
    <T> Iterator<T> rows(String stage, Iterator<T> rows);

    /** {@code rows} through every registered probe (none in production: {@code rows} itself). */
    static <T> Iterator<T> wrap(String stage, Iterator<T> rows) {
        Iterator<T> out = rows;
        for (TaskRowsProbe p : Loaded.PROBES) {
            out = p.rows(stage, out);
        }
        return out;
    }

    /** Whether any probe is registered (a job may skip the extra pass that would host it). */
    static boolean installed() {
        return !Loaded.PROBES.isEmpty();
    }

    /** The probes on this JVM's classpath, loaded once. */
    final class Loaded {
        static final List<TaskRowsProbe> PROBES =
                ServiceLoader.load(TaskRowsProbe.class).stream()
                        .map(ServiceLoader.Provider::get)
                        .toList();

        private Loaded() {}
    }
}
