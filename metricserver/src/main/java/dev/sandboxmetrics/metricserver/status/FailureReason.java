package dev.sandboxmetrics.metricserver.status;

import dev.sandboxmetrics.metricserver.collect.SandboxResult;

/**
 * Why a sandbox query gave no data, in a few fixed kinds: the {@code reason} label of the failure counter
 * (a bounded set of values, whatever a sandbox sends) and a word on the status page.
 *
 * <p>The collector names the kind of each failure ({@code SandboxResult.reason()}, one of
 * {@code SandboxResult.Reason}); {@link #of} groups those kinds into the ones an operator tells apart.
 * {@code FailureReasonTest} drives each kind through a real simulated sandbox.
 */

public enum FailureReason {
  /** No complete reply within the sandbox timeout, or the export deadline passed before its turn. */
  TIMEOUT("timeout"),
  /** Cannot connect to (or open) the control socket. */
  REFUSED("refused"),
  /** The connection broke or closed before any reply. */
  CLOSED("closed"),
  /** The reply is not valid JSON, not an export reply, or was cut off. */
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
  /** The registration allows more series than {@code --max-series-per-sandbox}. */
  TOO_MANY_SERIES("too_many_series"),
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

  /** The kind of a query's failure; null for a query that worked. */
  public static FailureReason of(SandboxResult result) {
    if (result.reason() == null) {
      return null;
    }
    return switch (result.reason()) {
      case SandboxResult.Reason.TIMEOUT, SandboxResult.Reason.DEADLINE -> TIMEOUT;
      case SandboxResult.Reason.REFUSED, SandboxResult.Reason.MISSING -> REFUSED;
      case SandboxResult.Reason.CLOSED -> CLOSED;
      case SandboxResult.Reason.MALFORMED -> MALFORMED;
      case SandboxResult.Reason.TOO_LARGE -> TOO_LARGE;
      case SandboxResult.Reason.REMOTE_ERROR -> SANDBOX_ERROR;
      case SandboxResult.Reason.FILTER_VIOLATED -> FILTER_IGNORED;
      case SandboxResult.Reason.VERIFICATION -> VERIFIER_REJECTED;
      case SandboxResult.Reason.REGISTRATION -> INVALID_REGISTRATION;
      case SandboxResult.Reason.TOO_MANY_SERIES -> TOO_MANY_SERIES;
      case SandboxResult.Reason.SHUTTING_DOWN -> SHUTTING_DOWN;
      default -> OTHER;
    };
  }
}
