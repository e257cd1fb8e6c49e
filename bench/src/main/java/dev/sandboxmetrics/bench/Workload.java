package dev.sandboxmetrics.bench;

import dev.sandboxmetrics.simulator.workload.BenchWorkload;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark workload of {@code testdata/bench/} (loaded by the simulator's {@link BenchWorkload}, whose
 * {@code bench} profile serves the same bytes): one sandbox's snapshot of 175 data points and its
 * registration, copied for N sandboxes with the snapshot time set to now and per-sandbox labels, as
 * {@code testdata/README.md} prescribes. Shared by every benchmark so they measure the same bytes, and by
 * {@code WorkloadRenderingTest}; the one place that builds N sandboxes of the workload.
 */
final class Workload {
  final Registration registration;
  /** N encodings of the snapshot, each with a fresh {@code when}, as N sandboxes would send them. */
  final List<byte[]> snapshotJson;
  /** The decoded snapshots, for benchmarks that start after decoding. */
  final List<Snapshot> snapshots;
  final List<Labels> labels;
  final Instant when;

  Workload(int sandboxes) {
    try {
      byte[] registrationJson = BenchWorkload.registrationJson();
      String template = new String(BenchWorkload.snapshotJson(), StandardCharsets.UTF_8);
      registration = RunscJson.readRegistration(registrationJson, 0, registrationJson.length);
      when = Instant.now();
      String whenJson = "\"when\":\"" + when + "\"";
      String fresh = template.replaceFirst("\"when\":\"[^\"]*\"", whenJson);
      snapshotJson = new ArrayList<>(sandboxes);
      snapshots = new ArrayList<>(sandboxes);
      labels = new ArrayList<>(sandboxes);
      for (int i = 0; i < sandboxes; i++) {
        byte[] bytes = fresh.getBytes(StandardCharsets.UTF_8);
        snapshotJson.add(bytes);
        snapshots.add(RunscJson.readSnapshot(bytes, 0, bytes.length));
        String id = String.format("%064x", 0xbeefcafeL + i);
        labels.add(
            Labels.of(
                "sandbox", id,
                "iteration", Long.toString(0x1234567L * (i + 1), 36),
                "pod_name", "pod-" + i,
                "namespace_name", "bench"));
      }
    } catch (RunscJsonException e) {
      throw new IllegalStateException("benchmark workload does not decode: " + e.getMessage(), e);
    }
  }
}
