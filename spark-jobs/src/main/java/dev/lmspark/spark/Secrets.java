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
    /** The words that make a key secret (deploy/bin/lmspark's --dry-run uses the same list). */
    private static final String WORDS = "secret|password|passwd|token|credential|key";

    /** Keys whose values are secret: Spark's default, widened to keys and credentials. */
    public static final String REDACTION_REGEX = "(?i)" + WORDS;

    /** What a secret is replaced with, as Spark writes it. */
    public static final String REDACTED = "*********(redacted)";

    /**
     * The same words, ending a word: {@code --api-token}, {@code fs.s3a.secret.key} and {@code
     * fs.azure.account.key.NAME} are secret; lmspark's own {@code --tokenizer} and {@code
     * --max-tokens} are not.
     */
    private static final Pattern SENSITIVE = Pattern.compile("(?i)(" + WORDS + ")(?![a-z])");

    /** The user-info of a URI anywhere in a value ({@code k8s://https://user:pw@host} too). */
    private static final Pattern USER_INFO = Pattern.compile("://([^/@\\s]+)@");

    /** A {@code key=value} inside a value, e.g. {@code -Dx.password=…} in extraJavaOptions. */
    private static final Pattern NESTED = Pattern.compile("(?:^|\\s)(?:-D)?([^\\s=]+)=(\\S+)");

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
            Matcher uri = USER_INFO.matcher(a);
            while (uri.find()) {
                add(values, uri.group(1));
            }
            // key=value, also inside --flag=key=value (--conf=…, a misspelt --cnof=…) and inside
            // a value (-Dkey=value in extraJavaOptions).
            Matcher kv = NESTED.matcher(a);
            while (kv.find()) {
                String key = kv.group(1);
                String value = kv.group(2);
                if (SENSITIVE.matcher(key).find()) {
                    add(values, value);
                } else if (value.contains("=")) {
                    String inner = value.substring(0, value.indexOf('='));
                    if (SENSITIVE.matcher(inner).find()) {
                        add(values, value.substring(value.indexOf('=') + 1));
                    }
                }
            }
            if (!a.contains("=")
                    && a.startsWith("--")
                    && !a.equals("--conf")
                    && SENSITIVE.matcher(a).find()
                    && i + 1 < args.length) {
                add(values, args[i + 1]);
            }
        }
        return new Secrets(values);
    }

    /**
     * Adds {@code value} unless it is too plain to be a secret and would garble every message it
     * occurs in: empty, shorter than 4 characters, a number or a boolean.
     */
    private static void add(List<String> values, String value) {
        if (value.length() >= 4
                && !value.matches("[-+]?[0-9.]+")
                && !value.equalsIgnoreCase("true")
                && !value.equalsIgnoreCase("false")) {
            values.add(value);
        }
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
