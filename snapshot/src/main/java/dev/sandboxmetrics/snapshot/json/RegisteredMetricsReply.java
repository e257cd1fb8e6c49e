package dev.sandboxmetrics.snapshot.json;

import dev.sandboxmetrics.snapshot.Registration;

/**
 * A decoded uRPC reply to {@code Metrics.GetRegisteredMetrics}:
 * {@code {"success":true,"err":"","result":{"RegisteredMetrics":...}}}.
 */
public record RegisteredMetricsReply(boolean success, String err, Registration registration) {}
