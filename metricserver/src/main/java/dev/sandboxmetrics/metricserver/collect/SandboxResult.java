package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.Snapshot;

/**
 * What one export learned about one sandbox: its verified snapshot, or why there is none, and whether the
 * sandbox process was running when its query ended (a stopped sandbox without data is not "broken").
 *
 * <p>{@code error} is one line for people, with sandbox text already bounded and escaped; {@code reason} is
 * its kind, one of a few fixed words ({@link Reason}), for counting and rate-limiting (null when it worked).
 */
public record SandboxResult(ServedSandbox sandbox, Snapshot snapshot, String error, boolean running, String reason) {
  /** The kinds of failure: a bounded set of values, fit for a metric label. */
  public static final class Reason {
    public static final String TIMEOUT = "timeout";
    public static final String REFUSED = "refused";
    public static final String MISSING = "socket_missing";
    public static final String CLOSED = "closed";
    public static final String MALFORMED = "malformed";
    public static final String TOO_LARGE = "too_large";
    public static final String REMOTE_ERROR = "remote_error";
    public static final String FILTER_VIOLATED = "filter_violated";
    public static final String VERIFICATION = "verification";
    public static final String REGISTRATION = "invalid_registration";
    public static final String DEADLINE = "export_deadline";
    public static final String TOO_MANY_SERIES = "too_many_series";
    public static final String SHUTTING_DOWN = "shutting_down";
    public static final String OTHER = "other";

    private Reason() {}
  }

  public static SandboxResult ok(ServedSandbox sandbox, Snapshot snapshot, boolean running) {
    return new SandboxResult(sandbox, snapshot, null, running, null);
  }

  public static SandboxResult failed(ServedSandbox sandbox, String error, boolean running) {
    return new SandboxResult(sandbox, null, error, running, Reason.OTHER);
  }

  public static SandboxResult failed(ServedSandbox sandbox, String reason, String error, boolean running) {
    return new SandboxResult(sandbox, null, error, running, reason);
  }

  public boolean succeeded() {
    return snapshot != null;
  }

  /** Running, yet no data: what {@code num_sandboxes_broken_metrics} counts. */
  public boolean broken() {
    return snapshot == null && running;
  }
}
