package dev.sandboxmetrics.metricserver.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The status page's series count: one line per scalar point, buckets plus sum and count per histogram. */
class SeriesCountTest {
  @Test
  void countsTheLinesASnapshotBecomes() {
    Metric counter = new Metric("fs_opens", MetricType.COUNTER, "Opens.");
    Metric latency = new Metric("latency", MetricType.HISTOGRAM, "Latency.");
    Histogram threeBuckets = Histogram.classic(Value.ofInt(9),
        List.of(new Bucket(Value.ofInt(1), 2), new Bucket(Value.ofInt(5), 3), new Bucket(Value.ofInt(10), 4)));
    Histogram oneBucket = Histogram.classic(Value.ofInt(0), List.of(new Bucket(Value.ofInt(1), 0)));
    Snapshot snapshot = new Snapshot(Instant.EPOCH, List.of(
        DataPoint.of(counter, Labels.of("op", "a"), Value.ofInt(1)),
        DataPoint.of(latency, Labels.EMPTY, threeBuckets),
        DataPoint.of(counter, Labels.of("op", "b"), Value.ofInt(2)),
        DataPoint.of(latency, Labels.of("op", "b"), oneBucket)));

    assertThat(SandboxStatus.seriesOf(snapshot)).isEqualTo(1 + (3 + 2) + 1 + (1 + 2));
    assertThat(SandboxStatus.seriesOf(new Snapshot(Instant.EPOCH, List.of()))).isZero();
  }
}
