package dev.sandboxmetrics.metricserver.server;

/**
 * The metric server cannot start; the message is for the user (which flag, file or address, and why). A
 * usage error (a missing or malformed flag value) exits with status 2, anything else with 1.
 */
public final class StartupException extends Exception {
  private static final long serialVersionUID = 1L;

  private final boolean usageError;

  public StartupException(String message, boolean usageError) {
    super(message);
    this.usageError = usageError;
  }

  public boolean isUsageError() {
    return usageError;
  }
}
