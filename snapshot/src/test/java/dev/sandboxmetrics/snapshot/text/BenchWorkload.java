package dev.sandboxmetrics.snapshot.text;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark workload of testdata/bench (testdata/README): N sandboxes each exporting the same
 * 175-data-point snapshot, with their own sandbox, iteration, pod and namespace labels.
 */
final class BenchWorkload {
  private BenchWorkload() {}

  static Snapshot benchSnapshot() throws IOException {
    return GoldenInput.readSnapshot(GoldenInput.testdata("bench/snapshot-175.json"));
  }

  /**
   * Each sandbox gets its own copy of every object and string, as decoding each sandbox's reply would
   * give, so that a benchmark does not run on 175 data points that stay hot in the cache.
   */
  static List<SnapshotExport> sandboxes(Snapshot snapshot, int count, Instant when) {
    List<SnapshotExport> exports = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Snapshot timed = new Snapshot(when, snapshot.data().stream().map(BenchWorkload::copy).toList());
      exports.add(new SnapshotExport(timed, "runsc_", Labels.of(
          "sandbox", String.format("sandbox-%04d-5f3c9a", i),
          "iteration", Long.toString(0x1234_5678_9abcL * (i + 1), 36),
          "pod_name", "web-" + i,
          "namespace_name", "team-" + (i % 7))));
    }
    return exports;
  }

  private static DataPoint copy(DataPoint dp) {
    Metric m = dp.metric();
    return new DataPoint(new Metric(new String(m.name()), m.type(), new String(m.help())), copy(dp.labels()),
        copy(dp.externalLabels()), dp.value(), dp.histogram());
  }

  private static Labels copy(Labels labels) {
    String[] names = new String[labels.size()];
    String[] values = new String[labels.size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = new String(labels.name(i));
      values[i] = new String(labels.value(i));
    }
    return Labels.ofSorted(names, values);
  }
}
