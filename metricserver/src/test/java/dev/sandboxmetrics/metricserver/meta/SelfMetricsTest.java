package dev.sandboxmetrics.metricserver.meta;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.Scrapes;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The self-metrics at the end of /metrics of a real server, and their absence with --self-metrics=false. */
@Timeout(120)
class SelfMetricsTest {
  private static final String TCP = "127.0.0.1:0";

  @TempDir Path tmp;

  private static String scrape(MetricServer server) throws IOException {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
    assertThat(r.status()).isEqualTo(200);
    return r.text();
  }

  /** name{labels} -> value, for the lines of names starting with {@code prefix}. */
  private static Map<String, String> values(String text, String prefix) {
    Map<String, String> out = new TreeMap<>();
    for (String line : Scrapes.samples(text)) {
      if (line.startsWith(prefix)) {
        String[] parts = line.split(" ");
        out.put(parts[0], parts[1]);
      }
    }
    return out;
  }

  @Test
  void scrapesQueriesRepliesAndFailuresAreCounted() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, TCP);
        MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), TCP)
            .withSandboxTimeout(Duration.ofMillis(1500)))) {
      sim.createRunning(SandboxSpec.builder("good").build());
      sim.createRunning(SandboxSpec.builder("bad").fault(Fault.GARBAGE).build());

      String first = scrape(server);
      String second = scrape(server);

      Map<String, String> before = values(first, "runsc_meta_scrape_duration_seconds");
      assertThat(before).containsEntry("runsc_meta_scrape_duration_seconds_count", "0");
      Map<String, String> m = values(second, "runsc_meta_");
      assertThat(m).containsEntry("runsc_meta_scrape_duration_seconds_count", "1");
      assertThat(m).containsEntry("runsc_meta_scrape_duration_seconds_bucket{le=\"+Inf\"}", "1");
      assertThat(Double.parseDouble(m.get("runsc_meta_scrape_duration_seconds_sum"))).isPositive();
      assertThat(m.keySet()).contains(
          "runsc_meta_scrape_duration_seconds_bucket{le=\"0.001000\"}",
          "runsc_meta_scrape_duration_seconds_bucket{le=\"30.000000\"}",
          "runsc_meta_sandbox_query_duration_seconds_bucket{le=\"0.001000\"}");
      // Plain Prometheus histograms: not gVisor's extra lines.
      assertThat(m.keySet()).noneMatch(k -> k.matches("runsc_meta_(scrape|sandbox_query|sandbox_reply).*_(min|max|ssd)"));
      assertThat(m).containsEntry("runsc_meta_sandbox_query_duration_seconds_count", "4");
      assertThat(m).containsEntry("runsc_meta_sandbox_reply_size_bytes_count", "2");
      assertThat(Double.parseDouble(m.get("runsc_meta_sandbox_reply_size_bytes_sum"))).isGreaterThan(100);
      assertThat(m).containsEntry("runsc_meta_sandbox_query_failures_total{reason=\"malformed\"}", "2");
      assertThat(m).containsEntry("runsc_meta_sandbox_query_failures_total{reason=\"timeout\"}", "0");
      // This scrape's connection at least (the first one's may not be closed on the server's side yet).
      assertThat(Integer.parseInt(m.get("runsc_meta_http_connections_open"))).isBetween(1, 2);

      Map<String, String> process = values(second, "process_");
      assertThat(process.keySet()).containsExactlyInAnyOrder("process_start_time_seconds", "process_cpu_seconds_total",
          "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds");
      assertThat(Double.parseDouble(process.get("process_cpu_seconds_total"))).isPositive();
      assertThat(Long.parseLong(process.get("process_resident_memory_bytes"))).isGreaterThan(1 << 20);
      assertThat(Long.parseLong(process.get("process_open_fds"))).isPositive()
          .isLessThanOrEqualTo(Long.parseLong(process.get("process_max_fds")));
      Map<String, String> jvm = values(second, "jvm_");
      assertThat(Long.parseLong(jvm.get("jvm_memory_used_bytes{area=\"heap\"}"))).isPositive();
      assertThat(jvm.keySet()).anyMatch(k -> k.startsWith("jvm_gc_collections_total{gc=\""));
      assertThat(Long.parseLong(jvm.get("jvm_threads_current"))).isPositive();
      // runsc's form of the start time is kept: seconds with microseconds, then the timestamp.
      assertThat(second).containsPattern("\nprocess_start_time_seconds \\d+\\.\\d{6} \\d+\n");
      assertThat(second).endsWith("# End of metric data.\n");
    }
  }

  @Test
  void offLeavesOnlyWhatRunscWrites() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, TCP);
        MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), TCP).withSelfMetrics(false))) {
      sim.createRunning(SandboxSpec.builder("good").build());

      String text = scrape(server);

      List<String> processLines = Scrapes.samples(text).stream()
          .filter(l -> l.startsWith("process_") || l.startsWith("jvm_")).toList();
      assertThat(processLines).singleElement().asString().startsWith("process_start_time_seconds ");
      assertThat(text).doesNotContain("runsc_meta_scrape_duration_seconds")
          .doesNotContain("runsc_meta_sandbox_query").doesNotContain("runsc_meta_http_connections_open");
      assertThat(text).containsPattern("\nprocess_start_time_seconds \\d+\\.\\d{6} \\d+\n");
    }
  }
}
