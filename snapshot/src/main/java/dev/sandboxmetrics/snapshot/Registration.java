package dev.sandboxmetrics.snapshot;

import java.util.List;

/**
 * What a sandbox registered: its metrics and its stages. The copy in the sandbox's state file is trusted
 * (written before any workload ran); everything a sandbox sends later is checked against it.
 */
public record Registration(List<MetricMetadata> metrics, List<String> stages) {
  public static final Registration EMPTY = new Registration(List.of(), List.of());

  public Registration {
    metrics = metrics == null ? List.of() : List.copyOf(metrics);
    stages = stages == null ? List.of() : List.copyOf(stages);
  }
}
