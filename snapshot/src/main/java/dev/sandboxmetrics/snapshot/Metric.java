package dev.sandboxmetrics.snapshot;

import java.util.Objects;

/**
 * What a data point says about its metric: the Prometheus name (without exporter prefix), its type and
 * its help text. Every data point of a snapshot carries one; the verifier checks it against the
 * registration.
 */
public record Metric(String name, MetricType type, String help) {
  public Metric {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    help = help == null ? "" : help;
  }
}
