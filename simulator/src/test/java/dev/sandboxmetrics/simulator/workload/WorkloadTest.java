package dev.sandboxmetrics.simulator.workload;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkloadTest {
  @Test
  void bucketerReproducesGvisorsExponentialBounds() {
    // The bench registration was made by gVisor's NewExponentialBucketer(21, 100, 1, 2).
    MetricMetadata latency =
        new BenchWorkload().registration().metrics().stream()
            .filter(m -> m.type() == MetricMetadata.TYPE_DISTRIBUTION)
            .findFirst()
            .orElseThrow();
    ExponentialBucketer b = new ExponentialBucketer(latency.distributionBucketLowerBounds().size() - 1, 100, 1, 2);
    assertThat(b.lowerBounds()).isEqualTo(latency.distributionBucketLowerBounds());
    // gVisor's BucketIndex, shifted by one for the underflow bucket.
    assertThat(b.bucketOf(-5)).isZero();
    assertThat(b.bucketOf(0)).isEqualTo(1);
    assertThat(b.bucketOf(100)).isEqualTo(1);
    assertThat(b.bucketOf(101)).isEqualTo(2);
    assertThat(b.bucketOf(Long.MAX_VALUE)).isEqualTo(b.finiteBuckets() + 1);
  }

  @Test
  void benchFastPathSendsTheBytesTheModelEncodes() {
    BenchWorkload w = new BenchWorkload();
    Instant when = Instant.parse("2026-11-23T09:00:00.123456789Z");
    for (String filter : List.of("", "^gauge_", "latency", "nothing-matches")) {
      MetricNameFilter f = MetricNameFilter.compile(filter);
      assertThat(new String(w.exportReply(when, ZoneOffset.UTC, f), StandardCharsets.UTF_8))
          .as("filter %s", filter)
          .isEqualTo(new String(Workload.encodeExportReply(w.snapshot(when, f), ZoneOffset.UTC), StandardCharsets.UTF_8));
    }
    assertThat(w.decreaseCounter()).isEqualTo("fs_counter_00_total");
    MetricNameFilter all = MetricNameFilter.ALL;
    assertThat(w.exportReply(when, ZoneOffset.UTC, all))
        .isEqualTo(Workload.encodeExportReply(w.snapshot(when, all), ZoneOffset.UTC));
  }

  @Test
  void realisticRegistrationIsValidAndReproducibleBySeed() throws Exception {
    Registration r = new RealisticWorkload(42).registration();
    Verifier.forRegistration(r);
    assertThat(r.metrics()).extracting(MetricMetadata::prometheusName)
        .contains("fs_opens", "fs_reads", "fs_read_wait", "gofer_opens_9p", "unimplemented_syscalls",
            "netstack_nic_rx_bytes", "memory_usage_bytes", "fs_read_latency");
    Instant t = Instant.now();
    assertThat(new RealisticWorkload(7).snapshot(t, MetricNameFilter.ALL))
        .isEqualTo(new RealisticWorkload(7).snapshot(t, MetricNameFilter.ALL));
  }
}
