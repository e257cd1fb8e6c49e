package dev.sandboxmetrics.snapshot.json;

/**
 * JSON from a sandbox (or a state file) that does not have the runsc shape. The message says what was
 * wrong and where, e.g. {@code data[12].histogram.buckets[3].le: expected an object, got a string}.
 */
public final class RunscJsonException extends Exception {
  private static final long serialVersionUID = 1L;

  public RunscJsonException(String message) {
    super(message);
  }

  public RunscJsonException(String message, Throwable cause) {
    super(message, cause);
  }
}
