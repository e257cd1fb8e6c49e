package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The benchmark workload (100 sandboxes of 175 data points) renders completely and well-formed. */
class BenchWorkloadRenderingTest {

  @Test
  void hundredSandboxesRenderEverySampleOnceUnderOneHeaderPerMetric() throws IOException {
    Snapshot snapshot = BenchWorkload.benchSnapshot();
    assertThat(snapshot.data()).hasSize(175);
    long linesPerSandbox = 0;
    Set<String> names = new HashSet<>();
    for (DataPoint dp : snapshot.data()) {
      names.add("runsc_" + dp.metric().name());
      linesPerSandbox += dp.metric().type() == MetricType.HISTOGRAM ? dp.histogram().buckets().size() + 5 : 1;
    }
    List<SnapshotExport> exports = BenchWorkload.sandboxes(snapshot, 100, Instant.parse("2024-01-02T03:04:05.678Z"));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = new PrometheusTextWriter().write(out, "bench", exports);

    assertThat(report.droppedDataPoints()).isEmpty();
    StrictPrometheusTextParser.Parsed parsed = StrictPrometheusTextParser.parse(out.toByteArray());
    assertThat(parsed.samples()).hasSize((int) (100 * linesPerSandbox));
    assertThat(parsed.families().keySet()).as("one HELP/TYPE per metric name").isEqualTo(names);
    assertThat(parsed.samples().get(0).labels().get(3).getValue()).isEqualTo("sandbox-0000-5f3c9a");
    assertThat(parsed.samples().get(1).labels().get(3).getValue()).isEqualTo("sandbox-0001-5f3c9a");
  }
}
