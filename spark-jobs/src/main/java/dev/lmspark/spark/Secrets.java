package dev.lmspark.spark;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps secrets given on the command line out of what lmspark prints. A secret is the value of a
 * {@code key=value} argument (a {@code --conf} entry, or a misspelt {@code --flag=value}) whose key
 * holds one of {@link #REDACTION_REGEX}'s words ending a word, the argument after such a {@code
 * --flag}, and the user-info part of a URI ({@code s3a://key:secret@bucket/…}). Spark's own logs,
 * UI and event logs are covered by {@code spark.redaction.regex}, which {@link SparkSessions} sets
 * to {@link #REDACTION_REGEX}.
 */
public final class Secrets {
    /** Keys whose values are secret: Spark's default, widened to keys and credentials. */
    public static final String REDACTION_REGEX = "(?i)secret|password|passwd|token|credential|key";

    /** What a secret is replaced with, as Spark writes it. */
    public static final String REDACTED = "*********(redacted)";

    /**
     * The same words, ending a word: {@code --api-token}, {@code fs.s3a.secret.key} and {@code
     * fs.azure.account.key.NAME} are secret; lmspark's own {@code --tokenizer} and {@code
     * --max-tokens} are not.
     */
    private static final Pattern SENSITIVE =
            Pattern.compile("(?i)(secret|password|passwd|token|credential|key)(?![a-z])");

    private static final Pattern USER_INFO =
            Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://([^/@]+)@");

    private final List<String> values;

    private Secrets(List<String> values) {
        // Longest first, so a secret that contains another is hidden whole.
        values.sort(Comparator.comparingInt(String::length).reversed());
        this.values = values;
    }

    /** The secrets in a command line. */
    public static Secrets in(String[] args) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            Matcher uri = USER_INFO.matcher(a.contains("=") ? a.substring(a.indexOf('=') + 1) : a);
            if (uri.find()) {
                values.add(uri.group(1));
            }
            int eq = a.indexOf('=');
            if (eq > 0 && SENSITIVE.matcher(a.substring(0, eq)).find()) {
                if (eq + 1 < a.length()) {
                    values.add(a.substring(eq + 1));
                }
            } else if (eq < 0
                    && a.startsWith("--")
                    && !a.equals("--conf")
                    && SENSITIVE.matcher(a).find()
                    && i + 1 < args.length) {
                values.add(args[i + 1]);
            }
        }
        return new Secrets(values);
    }

    /** {@code w}, with every secret replaced by {@link #REDACTED} in what is written to it. */
    public PrintWriter wrap(PrintWriter w) {
        if (values.isEmpty()) {
            return w;
        }
        return new PrintWriter(w, true) {
            @Override
            public void write(String s, int off, int len) {
                String r = redact(s.substring(off, off + len));
                super.write(r, 0, r.length());
            }

            @Override
            public void write(char[] buf, int off, int len) {
                write(new String(buf, off, len), 0, len);
            }
        };
    }

    /** {@code message} with every secret replaced by {@link #REDACTED}. */
    public String redact(String message) {
        if (message == null) {
            return null;
        }
        String m = message;
        for (String v : values) {
            m = m.replace(v, REDACTED);
        }
        return m;
    }
}
