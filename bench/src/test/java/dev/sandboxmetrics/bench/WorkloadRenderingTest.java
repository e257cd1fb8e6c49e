package dev.sandboxmetrics.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import dev.sandboxmetrics.snapshot.text.StrictPrometheusTextParser;
import dev.sandboxmetrics.snapshot.text.WriteReport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks' workload (100 sandboxes of testdata/bench's 175 data points, as {@link Workload} builds
 * it for {@code ScrapePathBenchmark}) renders completely and well-formed: a render benchmark that dropped
 * data points would measure less work than a scrape does.
 */
class WorkloadRenderingTest {

  @Test
  void hundredSandboxesRenderEverySampleOnceUnderOneHeaderPerMetric() throws IOException {
    Workload workload = new Workload(100);
    List<DataPoint> data = workload.snapshots.get(0).data();
    assertThat(data).hasSize(175);
    long linesPerSandbox = 0;
    Set<String> names = new HashSet<>();
    for (DataPoint dp : data) {
      names.add("runsc_" + dp.metric().name());
      linesPerSandbox += dp.metric().type() == MetricType.HISTOGRAM ? dp.histogram().buckets().size() + 5 : 1;
    }
    List<SnapshotExport> exports = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      exports.add(new SnapshotExport(workload.snapshots.get(i), "runsc_", workload.labels.get(i)));
    }

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = new PrometheusTextWriter().write(out, "bench", exports);

    assertThat(report.droppedDataPoints()).isEmpty();
    StrictPrometheusTextParser.Parsed parsed = StrictPrometheusTextParser.parse(out.toByteArray());
    assertThat(parsed.samples()).hasSize((int) (100 * linesPerSandbox));
    assertThat(parsed.families().keySet()).as("one HELP/TYPE per metric name").isEqualTo(names);
    // The first metric's samples, one per sandbox, in the sandboxes' order.
    assertThat(sandbox(parsed.samples().get(0))).isEqualTo(workload.labels.get(0).asMap().get("sandbox"));
    assertThat(sandbox(parsed.samples().get(1))).isEqualTo(workload.labels.get(1).asMap().get("sandbox"));
  }

  private static String sandbox(StrictPrometheusTextParser.Sample s) {
    return s.labels().stream().filter(l -> l.getKey().equals("sandbox")).map(Map.Entry::getValue)
        .findFirst().orElseThrow();
  }
}
