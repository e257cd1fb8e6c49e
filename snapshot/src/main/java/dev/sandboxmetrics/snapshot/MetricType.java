package dev.sandboxmetrics.snapshot;

/**
 * The Prometheus type of a metric as runsc encodes it in a snapshot ({@code "type": 0|1|2|3}).
 */
public enum MetricType {
  UNTYPED(0, "untyped"),
  GAUGE(1, "gauge"),
  COUNTER(2, "counter"),
  HISTOGRAM(3, "histogram");

  private static final MetricType[] BY_CODE = values();

  private final int code;
  private final String text;

  MetricType(int code, String text) {
    this.code = code;
    this.text = text;
  }

  /** The number runsc writes in JSON. */
  public int code() {
    return code;
  }

  /** The word written after {@code # TYPE name}. */
  public String text() {
    return text;
  }

  /** The type for a JSON code, or {@code null} when the code is not one runsc uses. */
  public static MetricType fromCode(long code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[(int) code] : null;
  }
}
