package dev.sandboxmetrics.snapshot.json;

/**
 * A decoded uRPC call as a sandbox's control server reads it: {@code {"method":"Metrics.Export","arg":{...}}}.
 * {@code onlyMetrics} is the {@code only_metrics} member of {@code arg} ("" when absent).
 */
public record UrpcCall(String method, String onlyMetrics) {
  public static final String EXPORT = "Metrics.Export";
  public static final String GET_REGISTERED_METRICS = "Metrics.GetRegisteredMetrics";
}
