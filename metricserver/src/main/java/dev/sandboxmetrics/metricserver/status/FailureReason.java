package dev.sandboxmetrics.metricserver.status;

/**
 * Why a sandbox query gave no data, in a few fixed kinds: the {@code reason} label of the failure counter
 * (a bounded set of values, whatever a sandbox sends) and a word on the status page.
 *
 * <p>The collector reports failures as messages ({@code SandboxResult.error()}); {@link #of(String)} maps
 * the messages of {@code Collector} and {@code ControlSocketClient} to kinds by their fixed beginnings (the
 * part before any sandbox-supplied text). A message no rule knows is {@link #OTHER}, never an error:
 * {@code FailureReasonTest} drives each kind through a real simulated sandbox, so a reworded message shows
 * up there.
 */
public enum FailureReason {
  /** No complete reply within the sandbox timeout, or the export deadline passed before its turn. */
  TIMEOUT("timeout"),
  /** Cannot connect to (or open) the control socket. */
  REFUSED("refused"),
  /** The connection broke or closed before a complete reply. */
  CLOSED("closed"),
  /** The reply is not valid JSON, or not an export reply. */
  MALFORMED("malformed"),
  /** The reply is larger than {@code --max-reply-bytes}. */
  TOO_LARGE("too_large"),
  /** The sandbox answered {@code success:false}. */
  SANDBOX_ERROR("sandbox_error"),
  /** The reply holds metrics that the requested filter excludes. */
  FILTER_IGNORED("filter_ignored"),
  /** The verifier rejected the snapshot. */
  VERIFIER_REJECTED("verifier_rejected"),
  /** The sandbox's metric registration in its state file is invalid. */
  INVALID_REGISTRATION("invalid_registration"),
  /** The server is shutting down. */
  SHUTTING_DOWN("shutting_down"),
  /** Anything else (an internal error). */
  OTHER("other");

  private final String label;

  FailureReason(String label) {
    this.label = label;
  }

  /** The value of the {@code reason} label. */
  public String label() {
    return label;
  }

  /** The kind of a collector failure message; null in, null out. */
  public static FailureReason of(String error) {
    if (error == null) {
      return null;
    }
    if (error.startsWith("no complete reply within") || error.startsWith("the export deadline")) {
      return TIMEOUT;
    }
    if (error.startsWith("cannot connect to control socket") || error.startsWith("cannot open control socket")) {
      return REFUSED;
    }
    if (error.startsWith("the sandbox closed the connection")
        || error.startsWith("cannot send the call")
        || error.startsWith("control socket error")) {
      return CLOSED;
    }
    if (error.startsWith("malformed reply") || error.startsWith("the reply holds no snapshot")) {
      return MALFORMED;
    }
    if (error.startsWith("reply larger than")) {
      return TOO_LARGE;
    }
    if (error.startsWith("the sandbox answered with an error")) {
      return SANDBOX_ERROR;
    }
    if (error.startsWith("metric ") && error.contains(" does not match the requested filter ")) {
      return FILTER_IGNORED;
    }
    if (error.startsWith("verification failed")) {
      return VERIFIER_REJECTED;
    }
    if (error.startsWith("invalid metric registration")) {
      return INVALID_REGISTRATION;
    }
    if (error.startsWith("the server is shutting down")) {
      return SHUTTING_DOWN;
    }
    return OTHER;
  }
}
