package dev.sandboxmetrics.runsc.discovery;

import java.io.IOException;

/**
 * A sandbox or container cannot be found or loaded from the root directory. The message is written for the
 * user: it names the ID, the sandbox or the file, and says what was expected.
 *
 * <p>Most failures are facts about the files as they are (corrupt JSON, a symbolic link, a FIFO, too large):
 * a scanner remembers them and looks again only when the files change. A {@link #retryable()} one says
 * nothing about the files (out of file descriptors, an I/O error): the scanner tries again at its next scan.
 */
public class DiscoveryException extends IOException {
  private static final long serialVersionUID = 1L;

  private final boolean retryable;

  public DiscoveryException(String message) {
    this(message, null, false);
  }

  public DiscoveryException(String message, Throwable cause) {
    this(message, cause, false);
  }

  public DiscoveryException(String message, Throwable cause, boolean retryable) {
    super(message, cause);
    this.retryable = retryable;
  }

  /** True when the same files may well load at the next attempt (the failure was not about them). */
  public boolean retryable() {
    return retryable;
  }
}
