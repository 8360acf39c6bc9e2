package dev.lmspark.data;

/**
 * Input a person must fix: a bad flag value, an unreadable or malformed file, a corpus that cannot
 * give what was asked. The message is one line that names the value and says what to do; the
 * command line prints it as is, without a stack trace.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
