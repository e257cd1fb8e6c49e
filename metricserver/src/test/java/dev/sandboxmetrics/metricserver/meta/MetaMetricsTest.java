package dev.sandboxmetrics.metricserver.meta;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Which sandbox gets which meta line (docs/runsc-protocol.md section 8). */
class MetaMetricsTest {
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
  private static final Snapshot DATA = new Snapshot(NOW, List.of());

  @Test
  void everyKnownSandboxHasPresenceRunningAndCheckpointLinesButOnlyExportedOnesHaveTheRest() {
    ServedSandbox ok = sandbox("a", false, Duration.ZERO);
    ServedSandbox broken = sandbox("b", false, Duration.ZERO);
    ServedSandbox stopped = sandbox("c", false, Duration.ZERO);
    Snapshot meta =
        MetaMetrics.snapshot(
            List.of(
                SandboxResult.ok(ok, DATA, true),
                SandboxResult.failed(broken, "no reply", true),
                SandboxResult.failed(stopped, "connection refused", false)),
            null,
            7,
            NOW);

    assertThat(sandboxesWith(meta, "sandbox_presence")).containsExactly("a", "b", "c");
    assertThat(sandboxesWith(meta, "sandbox_running")).containsExactly("a", "b", "c");
    assertThat(sandboxesWith(meta, "sandbox_checkpointed")).containsExactly("a", "b", "c");
    assertThat(sandboxesWith(meta, "sandbox_cpu_time_saved_milliseconds")).containsExactly("a", "b", "c");
    assertThat(sandboxesWith(meta, "sandbox_metadata")).containsExactly("a");
    assertThat(sandboxesWith(meta, "spec_metadata")).containsExactly("a");
    assertThat(sandboxesWith(meta, "sandbox_creation_time_seconds")).containsExactly("a");
    assertThat(sandboxesWith(meta, "sandbox_capabilities")).containsExactly("a", "a");

    assertThat(value(meta, "sandbox_running", "c")).isEqualTo(Value.ofInt(0));
    assertThat(global(meta, "num_sandboxes_running")).isEqualTo(Value.ofInt(2));
    // A stopped sandbox without data is not broken: only b counts.
    assertThat(global(meta, "num_sandboxes_broken_metrics")).isEqualTo(Value.ofInt(1));
    assertThat(global(meta, "num_sandboxes_total")).isEqualTo(Value.ofInt(7));
    assertThat(global(meta, "metric_server_presence")).isEqualTo(Value.ofInt(1));
  }

  @Test
  void metadataAndSpecLabelsComeFromTheStateFileAndCarryTheSandboxLabels() {
    Snapshot meta = MetaMetrics.snapshot(List.of(SandboxResult.ok(sandbox("a", false, Duration.ZERO), DATA, true)), null, 1, NOW);
    DataPoint metadata = only(meta, "sandbox_metadata");
    assertThat(metadata.labels().asMap()).isEqualTo(Map.of("platform", "systrap", "version", "1.0"));
    assertThat(metadata.externalLabels().get("sandbox")).isEqualTo("a");
    assertThat(metadata.externalLabels().get("iteration")).isEqualTo("it-a");
    assertThat(only(meta, "spec_metadata").labels().get("ociversion")).isEqualTo("1.0.2");
    assertThat(only(meta, "sandbox_creation_time_seconds").value())
        .isEqualTo(Value.ofFloat(1_700_000_000.25));
  }

  @Test
  void capabilityFilterMatchesTheNameWithOrWithoutTheCapPrefix() {
    List<SandboxResult> results = List.of(SandboxResult.ok(sandbox("a", false, Duration.ZERO), DATA, true));
    Snapshot chown = MetaMetrics.snapshot(results, name -> name.contains("CHOWN"), 1, NOW);
    assertThat(capabilities(chown)).containsExactly("CHOWN");
    Snapshot prefixed = MetaMetrics.snapshot(results, name -> name.startsWith("CAP_NET"), 1, NOW);
    assertThat(capabilities(prefixed)).containsExactly("NET_RAW");
    Snapshot trimmed = MetaMetrics.snapshot(results, name -> name.startsWith("NET"), 1, NOW);
    assertThat(capabilities(trimmed)).containsExactly("NET_RAW");
  }

  @Test
  void aSandboxsPointsAndLabelSetsAreTheSameInstancesOnEveryScrapeAndCapabilitiesSharedAcrossSandboxes() {
    ServedSandbox a = sandbox("a", false, Duration.ZERO);
    ServedSandbox b = sandbox("b", false, Duration.ZERO);
    Snapshot first = MetaMetrics.snapshot(
        List.of(SandboxResult.ok(a, DATA, true), SandboxResult.ok(b, DATA, true)), null, 2, NOW);
    // b stopped meanwhile: its running line changes, the rest stays.
    Snapshot second = MetaMetrics.snapshot(
        List.of(SandboxResult.ok(a, DATA, true), SandboxResult.ok(b, DATA, false)), null, 2, NOW);
    assertThat(second.data()).hasSameSizeAs(first.data());
    for (int i = 0; i < first.pointCount(); i++) {
      DataPoint p = first.point(i);
      DataPoint q = second.point(i);
      if (p.metric().name().equals("sandbox_running") && "b".equals(p.externalLabels().get("sandbox"))) {
        assertThat(p.value()).isEqualTo(Value.ofInt(1));
        assertThat(q.value()).isEqualTo(Value.ofInt(0));
      } else if (p.externalLabels().isEmpty()) {
        assertThat(q.metric()).isSameAs(p.metric()); // the server's global lines, counted per scrape
      } else {
        assertThat(q).as("point %d", i).isSameAs(p);
      }
    }
    // One label set per capability for all sandboxes.
    List<Labels> ofA = capabilityLabels(first, "a");
    List<Labels> ofB = capabilityLabels(first, "b");
    assertThat(ofA).hasSize(2);
    for (int i = 0; i < ofA.size(); i++) {
      assertThat(ofB.get(i)).isSameAs(ofA.get(i));
    }
    // A capability filter (a query parameter) gets points of its own and leaves the memo alone.
    Snapshot filtered = MetaMetrics.snapshot(List.of(SandboxResult.ok(a, DATA, true)), n -> n.contains("CHOWN"), 1, NOW);
    assertThat(capabilities(filtered)).containsExactly("CHOWN");
    Snapshot third = MetaMetrics.snapshot(List.of(SandboxResult.ok(a, DATA, true)), null, 1, NOW);
    assertThat(only(third, "sandbox_metadata")).isSameAs(only(first, "sandbox_metadata", "a"));
    assertThat(capabilities(third)).hasSize(2);
  }

  private static List<Labels> capabilityLabels(Snapshot meta, String sandbox) {
    return meta.data().stream()
        .filter(d -> d.metric().name().equals("sandbox_capabilities"))
        .filter(d -> sandbox.equals(d.externalLabels().get("sandbox")))
        .map(DataPoint::labels)
        .collect(Collectors.toList());
  }

  private static DataPoint only(Snapshot meta, String name, String sandbox) {
    List<DataPoint> found = meta.data().stream()
        .filter(d -> d.metric().name().equals(name) && sandbox.equals(d.externalLabels().get("sandbox")))
        .collect(Collectors.toList());
    assertThat(found).hasSize(1);
    return found.get(0);
  }

  @Test
  void timeSavedIsReportedForRestoredSandboxesOnly() {
    ServedSandbox restored = sandbox("r", true, Duration.ofMillis(1500));
    Snapshot meta = MetaMetrics.snapshot(List.of(SandboxResult.ok(restored, DATA, true)), null, 1, NOW);
    assertThat(value(meta, "sandbox_cpu_time_saved_milliseconds", "r")).isEqualTo(Value.ofInt(1500));
    assertThat(value(meta, "sandbox_restored", "r")).isEqualTo(Value.ofInt(1));
    assertThat(global(meta, "num_sandboxes_restored")).isEqualTo(Value.ofInt(1));

    ServedSandbox notRestored = sandbox("n", false, Duration.ofMillis(1500));
    Snapshot other = MetaMetrics.snapshot(List.of(SandboxResult.ok(notRestored, DATA, true)), null, 1, NOW);
    assertThat(value(other, "sandbox_cpu_time_saved_milliseconds", "n")).isEqualTo(Value.ofInt(0));
  }

  private static ServedSandbox sandbox(String id, boolean restored, Duration saved) {
    ServedSandbox.Facts facts =
        new ServedSandbox.Facts(
            id,
            Instant.ofEpochSecond(1_700_000_000L, 250_000_000),
            "it-" + id,
            Labels.of("sandbox", id, "iteration", "it-" + id),
            Path.of("/nonexistent/" + id + ".sock"),
            0,
            false,
            restored,
            saved,
            saved,
            Map.of("version", "1.0", "platform", "systrap"),
            List.of("CAP_CHOWN", "CAP_NET_RAW"),
            Map.of("hasuid0", "true", "ociversion", "1.0.2", "nvproxy", "false", "tpuproxy", "false"));
    return ServedSandbox.of(facts, null, null);
  }

  private static List<String> sandboxesWith(Snapshot s, String name) {
    return s.data().stream()
        .filter(d -> d.metric().name().equals(name))
        .map(d -> d.externalLabels().get("sandbox"))
        .collect(Collectors.toList());
  }

  private static List<String> capabilities(Snapshot s) {
    return s.data().stream()
        .filter(d -> d.metric().name().equals("sandbox_capabilities"))
        .map(d -> d.labels().get("capability"))
        .collect(Collectors.toList());
  }

  private static DataPoint only(Snapshot s, String name) {
    List<DataPoint> points = s.data().stream().filter(d -> d.metric().name().equals(name)).toList();
    assertThat(points).hasSize(1);
    return points.get(0);
  }

  private static Value value(Snapshot s, String name, String sandbox) {
    return s.data().stream()
        .filter(d -> d.metric().name().equals(name) && sandbox.equals(d.externalLabels().get("sandbox")))
        .findFirst()
        .orElseThrow()
        .value();
  }

  private static Value global(Snapshot s, String name) {
    return only(s, name).value();
  }
}
