package dev.sandboxmetrics.metricserver.collect;

/** A call to a sandbox's control socket failed; the message says how, for the log line naming the sandbox. */
public final class ControlCallException extends Exception {
  private static final long serialVersionUID = 1L;

  public ControlCallException(String message) {
    super(message);
  }
}
