package dev.sandboxmetrics.snapshot;

import java.util.List;

/** A registered field (label) of a metric and the values it may take. */
public record MetricField(String fieldName, List<String> allowedValues) {
  public MetricField {
    fieldName = fieldName == null ? "" : fieldName;
    allowedValues = allowedValues == null ? List.of() : List.copyOf(allowedValues);
  }
}
