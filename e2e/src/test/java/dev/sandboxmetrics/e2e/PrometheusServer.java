package dev.sandboxmetrics.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) with its own configuration and storage in a temporary
 * directory, listening on a free port of 127.0.0.1, and the few calls of its HTTP API the tests use.
 */
final class PrometheusServer {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One element of an instant vector: the series' labels (with {@code __name__}) and its value. */
  record Sample(Map<String, String> labels, double value) {
    String label(String name) {
      return labels.get(name);
    }
  }

  private final ChildProcess process;
  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PrometheusServer(ChildProcess process, URI base) {
    this.process = process;
    this.base = base;
  }

  /** Writes {@code config} to {@code dir/prometheus.yml} and starts Prometheus on it; does not wait. */
  static PrometheusServer start(ChildProcesses processes, Path dir, String config) throws IOException {
    Path prometheus = RequiredProgram.require("prometheus", "prometheus");
    Path configFile = dir.resolve("prometheus.yml");
    Files.writeString(configFile, config);
    int port = FreePort.onLoopback();
    ChildProcess process = processes.start("prometheus", List.of(
        prometheus.toString(),
        "--config.file=" + configFile,
        "--storage.tsdb.path=" + dir.resolve("data"),
        "--web.listen-address=127.0.0.1:" + port,
        "--log.level=info"));
    return new PrometheusServer(process, URI.create("http://127.0.0.1:" + port));
  }

  /** Waits until Prometheus answers {@code /-/ready}. */
  void awaitReady(ChildProcesses processes) {
    Await.until("Prometheus answers " + base + "/-/ready", Duration.ofSeconds(30), () -> {
      process.assertAlive();
      return get("/-/ready").statusCode();
    }, status -> status == 200, processes::logs);
  }

  /** Evaluates {@code promql} now; the result must be an instant vector. */
  List<Sample> query(String promql) throws IOException, InterruptedException {
    JsonNode data = api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    if (!"vector".equals(data.path("resultType").asText())) {
      throw new AssertionError("expected an instant vector from " + promql + ", got " + data);
    }
    List<Sample> samples = new ArrayList<>();
    for (JsonNode element : data.path("result")) {
      Map<String, String> labels = new TreeMap<>();
      for (Map.Entry<String, JsonNode> field : element.path("metric").properties()) {
        labels.put(field.getKey(), field.getValue().asText());
      }
      samples.add(new Sample(labels, Double.parseDouble(element.path("value").path(1).asText())));
    }
    return samples;
  }

  /** Metric name to the type Prometheus learned from the scrapes' TYPE lines ({@code /api/v1/metadata}). */
  Map<String, String> metricTypes() throws IOException, InterruptedException {
    Map<String, String> types = new TreeMap<>();
    for (Map.Entry<String, JsonNode> entry : api("/api/v1/metadata").properties()) {
      types.put(entry.getKey(), entry.getValue().path(0).path("type").asText());
    }
    return types;
  }

  /** The URLs Prometheus scrapes for {@code job}, exactly as it sends them. */
  List<String> scrapeUrls(String job) throws IOException, InterruptedException {
    List<String> urls = new ArrayList<>();
    for (JsonNode target : api("/api/v1/targets").path("activeTargets")) {
      if (target.path("labels").path("job").asText().equals(job)) {
        urls.add(target.path("scrapeUrl").asText());
      }
    }
    return urls;
  }

  /** Every scrape target's job, URL, health and last error, for failure messages. */
  String targets() {
    try {
      StringBuilder text = new StringBuilder("\nPrometheus targets:");
      for (JsonNode target : api("/api/v1/targets").path("activeTargets")) {
        text.append("\n  job=").append(target.path("labels").path("job").asText())
            .append(" url=").append(target.path("scrapeUrl").asText())
            .append(" health=").append(target.path("health").asText())
            .append(" lastError=").append(target.path("lastError").asText());
      }
      return text.toString();
    } catch (IOException | InterruptedException | AssertionError e) {
      return "\n(cannot list Prometheus' targets: " + e + ")";
    }
  }

  private JsonNode api(String pathAndQuery) throws IOException, InterruptedException {
    HttpResponse<String> response = get(pathAndQuery);
    JsonNode body = JSON.readTree(response.body());
    if (response.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
      throw new AssertionError("Prometheus API " + pathAndQuery + " answered " + response.statusCode() + ": "
          + response.body());
    }
    return body.path("data");
  }

  private HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(10)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
