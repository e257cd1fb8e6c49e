package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.Snapshot;

/**
 * What one export learned about one sandbox: its verified snapshot, or why there is none, and whether the
 * sandbox process was running when its query ended (a stopped sandbox without data is not "broken").
 */
public record SandboxResult(ServedSandbox sandbox, Snapshot snapshot, String error, boolean running) {
  public static SandboxResult ok(ServedSandbox sandbox, Snapshot snapshot, boolean running) {
    return new SandboxResult(sandbox, snapshot, null, running);
  }

  public static SandboxResult failed(ServedSandbox sandbox, String error, boolean running) {
    return new SandboxResult(sandbox, null, error, running);
  }

  public boolean succeeded() {
    return snapshot != null;
  }

  /** Running, yet no data: what {@code num_sandboxes_broken_metrics} counts. */
  public boolean broken() {
    return snapshot == null && running;
  }
}
