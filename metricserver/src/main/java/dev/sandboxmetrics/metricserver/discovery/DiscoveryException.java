package dev.sandboxmetrics.metricserver.discovery;

import java.io.IOException;

/**
 * A sandbox or container cannot be found or loaded from the root directory. The message is written for the
 * user: it names the ID, the sandbox or the file, and says what was expected.
 */
public class DiscoveryException extends IOException {
  private static final long serialVersionUID = 1L;

  public DiscoveryException(String message) {
    super(message);
  }

  public DiscoveryException(String message, Throwable cause) {
    super(message, cause);
  }
}
