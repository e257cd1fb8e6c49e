package dev.sandboxmetrics.snapshot.verify;

/** A sandbox's registration breaks a rule (docs/runsc-protocol.md section 5): none of its snapshots can be trusted. */
public final class InvalidRegistrationException extends Exception {
  private static final long serialVersionUID = 1L;

  public InvalidRegistrationException(String message) {
    super(message);
  }
}
