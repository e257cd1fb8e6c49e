package dev.sandboxmetrics.snapshot;

import java.util.List;

/**
 * A metric as a sandbox registered it before any workload ran (gVisor's {@code MetricMetadata} protobuf,
 * JSON with snake_case names). {@code type} and {@code units} keep the raw protobuf enum numbers so that
 * the verifier can reject values it does not know: type 0 is uint64, 1 is distribution; units 0 is none,
 * 1 is nanoseconds.
 */
public record MetricMetadata(
    String name,
    String prometheusName,
    String description,
    boolean cumulative,
    boolean sync,
    int type,
    int units,
    List<MetricField> fields,
    List<Long> distributionBucketLowerBounds) {

  public static final int TYPE_UINT64 = 0;
  public static final int TYPE_DISTRIBUTION = 1;
  public static final int UNITS_NONE = 0;
  public static final int UNITS_NANOSECONDS = 1;

  public MetricMetadata {
    name = name == null ? "" : name;
    prometheusName = prometheusName == null ? "" : prometheusName;
    description = description == null ? "" : description;
    fields = fields == null ? List.of() : List.copyOf(fields);
    distributionBucketLowerBounds =
        distributionBucketLowerBounds == null ? List.of() : List.copyOf(distributionBucketLowerBounds);
  }

  /** The Prometheus type a data point of this metric must carry. */
  public MetricType prometheusType() {
    if (type == TYPE_DISTRIBUTION) {
      return MetricType.HISTOGRAM;
    }
    return cumulative ? MetricType.COUNTER : MetricType.GAUGE;
  }
}
