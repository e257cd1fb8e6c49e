package dev.sandboxmetrics.snapshot;

import java.util.Objects;

/**
 * One data point of a snapshot: a metric, its labels (the registered fields), optional external labels,
 * and exactly one of a scalar {@code value} or a {@code histogram} when valid. The model does not enforce
 * "exactly one": a sandbox may send neither or both, and the verifier and writers must say so clearly
 * rather than crash.
 */
public record DataPoint(Metric metric, Labels labels, Labels externalLabels, Value value, Histogram histogram) {
  public DataPoint {
    Objects.requireNonNull(metric, "metric");
    labels = labels == null ? Labels.EMPTY : labels;
    externalLabels = externalLabels == null ? Labels.EMPTY : externalLabels;
  }

  public static DataPoint of(Metric metric, Labels labels, Value value) {
    return new DataPoint(metric, labels, Labels.EMPTY, value, null);
  }

  public static DataPoint of(Metric metric, Labels labels, Histogram histogram) {
    return new DataPoint(metric, labels, Labels.EMPTY, null, histogram);
  }
}
