package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Histogram#classic}: the server's own histograms are written as plain Prometheus histograms, while
 * a sandbox's histogram keeps gVisor's min, max and ssd lines even when they are all zero.
 */
class ClassicHistogramTest {
  private static final Metric METRIC = new Metric("h_seconds", MetricType.HISTOGRAM, "A histogram.");
  private static final List<Bucket> BUCKETS =
      List.of(new Bucket(Value.ofFloat(0.5), 2), new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1));

  private static String render(Histogram h) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new PrometheusTextWriter().write(out, "header", List.of(new SnapshotExport(
        new Snapshot(Instant.ofEpochMilli(1000), List.of(DataPoint.of(METRIC, Labels.EMPTY, h))), "p_", Labels.EMPTY)));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void classicHistogramHasBucketsSumAndCountOnly() throws IOException {
    String text = render(Histogram.classic(Value.ofFloat(1.25), BUCKETS));

    assertThat(text).contains("p_h_seconds_bucket{le=\"0.500000\"} 2 1000\n", "p_h_seconds_bucket{le=\"+Inf\"} 3 1000\n",
        "p_h_seconds_sum 1.250000 1000\n", "p_h_seconds_count 3 1000\n");
    assertThat(text).doesNotContain("_min").doesNotContain("_max").doesNotContain("_ssd");
  }

  @Test
  void aSandboxHistogramWithZeroExtremesKeepsItsExtraLines() throws IOException {
    String text = render(new Histogram(Value.ZERO, Value.ZERO, Value.ZERO, Value.ofFloat(0), BUCKETS));

    assertThat(text).contains("p_h_seconds_min 0 1000\n", "p_h_seconds_max 0 1000\n", "p_h_seconds_ssd 0 1000\n");
  }
}
