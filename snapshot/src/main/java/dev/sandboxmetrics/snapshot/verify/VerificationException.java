package dev.sandboxmetrics.snapshot.verify;

/** A snapshot breaks a rule of docs/runsc-protocol.md section 5; the message names the metric and the rule. */
public final class VerificationException extends Exception {
  private static final long serialVersionUID = 1L;

  public VerificationException(String message) {
    super(message);
  }
}
