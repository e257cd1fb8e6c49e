package dev.sandboxmetrics.bench;

import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;

/**
 * The bench workload's decoded snapshots and labels ({@link Workload}) for benchmarks outside this package
 * ({@code ServerBodyBenchmark} sits in the server's package to reach its package-private classes).
 */
public final class BenchSandboxes {
  private final Workload workload;

  public BenchSandboxes(int sandboxes) {
    workload = new Workload(sandboxes);
  }

  public Snapshot snapshot(int i) {
    return workload.snapshots.get(i);
  }

  public Labels labels(int i) {
    return workload.labels.get(i);
  }
}
