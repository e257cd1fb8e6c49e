package dev.sandboxmetrics.metricserver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every endpoint and status code of a metric server, without sandboxes (those are in the scrape tests). */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricServerEndpointsTest {
  @TempDir static Path tmp;

  private Path root;
  private MetricServer server;
  private MetricServer profiling;
  private InetSocketAddress tcp;

  @BeforeAll
  void start() throws Exception {
    root = Files.createDirectories(tmp.resolve("root"));
    server = MetricServer.start(MetricServerOptions.of(root.toString(), "127.0.0.1:0"));
    tcp = server.tcpAddress();
    profiling =
        MetricServer.start(MetricServerOptions.of(root.toString(), "127.0.0.1:0").withAllowProfiling(true));
  }

  @AfterAll
  void stop() {
    server.shutdown();
    profiling.shutdown();
  }

  @Test
  void indexPageLinksToMetrics() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).startsWith("text/html");
    assertThat(r.text()).contains("<a href=\"/metrics\">/metrics</a>");
  }

  @Test
  void metricsWithoutSandboxesHasTheHeaderAndTheServersOwnMetrics() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/metrics");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-type")).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    String text = r.text();
    assertThat(text)
        .startsWith("# Data for runsc metric server exporting data for sandboxes in root directory " + root + "\n")
        .contains("# TYPE runsc_meta_metric_server_presence gauge\nrunsc_meta_metric_server_presence 1 ")
        .contains("\nrunsc_meta_num_sandboxes_running 0 ")
        .contains("\nrunsc_meta_num_sandboxes_broken_metrics 0 ")
        .contains("# TYPE runsc_meta_num_sandboxes_total counter\nrunsc_meta_num_sandboxes_total 0 ")
        .contains("# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ")
        .endsWith("# End of metric data.\n");
    assertThat(text).doesNotContain("sandbox_presence{");
  }

  @Test
  void metricsFilterIsNamedInTheHeaderAlsoInPrometheusEscapedForm() throws Exception {
    String plain = RawHttp.get(tcp, "/metrics?runsc-sandbox-metrics-filter=fs_.*").text();
    assertThat(plain.lines().findFirst().orElseThrow())
        .endsWith(" (filtered using regular expression: \"fs_.*\")");
    String escaped = RawHttp.get(tcp, "/metrics%3Frunsc-sandbox-metrics-filter=fs_.*").text();
    assertThat(escaped.lines().findFirst()).isEqualTo(plain.lines().findFirst());
  }

  @Test
  void invalidFiltersAre400WithTheReason() throws Exception {
    RawHttp.Response metrics = RawHttp.get(tcp, "/metrics?runsc-sandbox-metrics-filter=" + enc("fs_("));
    assertThat(metrics.status()).isEqualTo(400);
    assertThat(metrics.header("content-type")).startsWith("text/plain");
    assertThat(metrics.text()).startsWith("provided metric filter is not a valid regular expression");

    RawHttp.Response caps = RawHttp.get(tcp, "/metrics?runsc-capability-filter=" + enc("[CHOWN"));
    assertThat(caps.status()).isEqualTo(400);
    assertThat(caps.text()).startsWith("provided capability filter is not a valid regular expression");
  }

  @Test
  void theLastValidFilterIsCachedButAnInvalidOneIsStillRejected() throws Exception {
    String good = "/metrics?runsc-sandbox-metrics-filter=fs_&runsc-capability-filter=CHOWN";
    assertThat(RawHttp.get(tcp, good).status()).isEqualTo(200);
    assertThat(RawHttp.get(tcp, good).status()).isEqualTo(200);
    assertThat(RawHttp.get(tcp, "/metrics?runsc-sandbox-metrics-filter=" + enc("(")).status()).isEqualTo(400);
    assertThat(RawHttp.get(tcp, "/metrics?runsc-capability-filter=" + enc("(")).status()).isEqualTo(400);
    assertThat(RawHttp.get(tcp, good).status()).isEqualTo(200);
  }

  @Test
  void healthcheckByQueryAndByPostedForm() throws Exception {
    RawHttp.Response ok = RawHttp.get(tcp, "/runsc-metrics/healthcheck?root=" + enc(root.toString()));
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.text()).startsWith("runsc-metrics:OK");

    RawHttp.Response wrong = RawHttp.get(tcp, "/runsc-metrics/healthcheck?root=/elsewhere");
    assertThat(wrong.status()).isEqualTo(400);
    assertThat(wrong.text()).contains("this metric server is configured to serve root directory: " + root);

    RawHttp.Response none = RawHttp.get(tcp, "/runsc-metrics/healthcheck");
    assertThat(none.status()).isEqualTo(400);

    try (RawHttp c = RawHttp.tcp(tcp)) {
      RawHttp.Response posted =
          c.request(
              "POST",
              "/runsc-metrics/healthcheck",
              "root=" + enc(root.toString()),
              "Content-Type: application/x-www-form-urlencoded");
      assertThat(posted.status()).isEqualTo(200);
      assertThat(posted.text()).startsWith("runsc-metrics:OK");
      // As with Go's ParseForm, the form's value wins over the query's.
      RawHttp.Response postedWrong =
          c.request(
              "POST",
              "/runsc-metrics/healthcheck?root=" + enc(root.toString()),
              "root=/elsewhere",
              "Content-Type: application/x-www-form-urlencoded");
      assertThat(postedWrong.status()).isEqualTo(400);
    }
  }

  @Test
  void pidIsOurs() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/runsc-metrics/pid");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.text()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
  }

  @Test
  void unknownPathsAre404AndWrongMethods405() throws Exception {
    assertThat(RawHttp.get(tcp, "/metrics/").status()).isEqualTo(404);
    assertThat(RawHttp.get(tcp, "/runsc-metrics/nothing").status()).isEqualTo(404);
    try (RawHttp c = RawHttp.tcp(tcp)) {
      RawHttp.Response r = c.request("POST", "/metrics", "");
      assertThat(r.status()).isEqualTo(405);
      assertThat(r.header("allow")).isEqualTo("GET");
      assertThat(c.request("PUT", "/runsc-metrics/healthcheck", "").header("allow")).isEqualTo("GET, POST");
    }
  }

  @Test
  void profilingEndpointsExistOnlyWithAllowProfiling() throws Exception {
    assertThat(RawHttp.get(tcp, "/runsc-metrics/profile-heap").status()).isEqualTo(404);
    assertThat(RawHttp.get(tcp, "/runsc-metrics/profile-cpu?seconds=1").status()).isEqualTo(404);

    RawHttp.Response heap = RawHttp.get(profiling.tcpAddress(), "/runsc-metrics/profile-heap");
    assertThat(heap.status()).isEqualTo(200);
    assertThat(heap.text()).contains("java.lang.String");

    RawHttp.Response cpu = RawHttp.get(profiling.tcpAddress(), "/runsc-metrics/profile-cpu?seconds=1");
    assertThat(cpu.status()).isEqualTo(200);
    assertThat(cpu.header("content-type")).isEqualTo("application/octet-stream");
    // A JFR file starts with the magic bytes "FLR\0".
    assertThat(new String(cpu.body(), 0, 3, StandardCharsets.US_ASCII)).isEqualTo("FLR");
  }

  @Test
  void metricsAreGzippedWhenTheScraperAcceptsIt() throws Exception {
    RawHttp.Response r = RawHttp.get(tcp, "/metrics", "Accept-Encoding: gzip");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-encoding")).isEqualTo("gzip");
    assertThat(r.text()).contains("runsc_meta_metric_server_presence 1");
  }

  @Test
  void keepAliveConnectionServesSeveralScrapes() throws Exception {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      for (int i = 0; i < 3; i++) {
        RawHttp.Response r = c.request("GET", "/metrics", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).endsWith("# End of metric data.\n");
      }
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
