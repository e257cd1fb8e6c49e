package dev.sandboxmetrics.bench;

import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark workload of {@code testdata/bench/}: one sandbox's snapshot of 175 data points and its
 * registration, copied for N sandboxes with the snapshot time set to now and per-sandbox labels, as
 * {@code testdata/README.md} prescribes. Shared by every benchmark so they measure the same bytes.
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
    Path dir = findTestdata().resolve("bench");
    try {
      byte[] registrationJson = Files.readAllBytes(dir.resolve("registration-175.json"));
      String template = Files.readString(dir.resolve("snapshot-175.json"), StandardCharsets.UTF_8);
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
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RunscJsonException e) {
      throw new IllegalStateException("benchmark workload does not decode: " + e.getMessage(), e);
    }
  }

  /** testdata/ from the repository root: the system property, else the nearest ancestor holding it. */
  static Path findTestdata() {
    String root = System.getProperty("sandboxmetrics.repo.root");
    if (root != null && Files.isDirectory(Path.of(root, "testdata"))) {
      return Path.of(root, "testdata");
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("testdata/bench"))) {
        return p.resolve("testdata");
      }
    }
    throw new IllegalStateException("cannot find testdata/bench: run from the repository or set -Dsandboxmetrics.repo.root");
  }
}
