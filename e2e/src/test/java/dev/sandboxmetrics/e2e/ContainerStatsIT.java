package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.e2e.PrometheusServer.Sample;
import dev.sandboxmetrics.simulator.PodStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code metric-server --container-stats} scraped by a real Prometheus: the query every gVisor user's
 * dashboard makes, {@code sum by (pod) (rate(container_cpu_usage_seconds_total{container!=""}[1m]))}, gives
 * the CPU the simulated pods' application containers use (runsc's formula over the simulated host cgroups).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerStatsIT {
  private static final int PODS = 3;
  private static final int APP_CONTAINERS = 2;
  private static final Duration LIMIT = Duration.ofSeconds(90);

  private Path work;
  private ChildProcesses processes;
  private PrometheusServer prometheus;
  private String address;

  @BeforeAll
  void start() throws Exception {
    RequiredProgram.require("prometheus", "prometheus");
    SandboxMetricsJar jar = SandboxMetricsJar.locate();
    work = Files.createTempDirectory("sandbox-metrics-stats-e2e-");
    // The server refuses a root that does not exist yet: make it before either process starts.
    Path root = Files.createDirectory(work.resolve("root"));
    Path cgroup = work.resolve("cgroup");
    address = "127.0.0.1:" + FreePort.onLoopback();
    processes = new ChildProcesses(work);
    processes.start("simulator", jar.command("--root=" + root, "--metric-server=" + address, "simulate",
        "--sandboxes", String.valueOf(PODS), "--sub-containers", String.valueOf(APP_CONTAINERS), "--namespace", "shop",
        "--id-prefix", "pod-", "--cgroup-root", cgroup.toString()));
    processes.start("server", jar.command("--root=" + root, "--metric-server=" + address, "metric-server",
        "--container-stats", "--cgroup-root", cgroup.toString()));
    prometheus = PrometheusServer.start(processes, Files.createDirectory(work.resolve("prometheus")), String.join("\n",
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: gvisor",
        "    static_configs: [{targets: ['" + address + "']}]",
        ""));
    prometheus.awaitReady(processes);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (processes != null) {
        processes.close();
      }
    } finally {
      if (work != null && Files.exists(work)) {
        try (var paths = Files.walk(work)) {
          for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }

  @Test
  void sumByPodOfTheCpuRateIsWhatThePodsUse() {
    Map<String, Double> expected = new TreeMap<>();
    for (int i = 0; i < PODS; i++) {
      String id = String.format("pod-%03d", i);
      expected.put(id, PodStats.expectedApplicationCores(id, 1 + APP_CONTAINERS));
    }
    String promql = "sum by (pod) (rate(container_cpu_usage_seconds_total{container!=\"\"}[1m]))";
    // A rate needs a few scrapes; then each pod's rate settles on what its containers use.
    Map<String, Double> got = Await.until(promql + " gives each pod's simulated CPU", LIMIT, () -> {
      Map<String, Double> m = new TreeMap<>();
      for (Sample s : prometheus.query(promql)) {
        m.put(s.label("pod"), s.value());
      }
      return m;
    }, m -> m.keySet().equals(expected.keySet()) && expected.entrySet().stream()
        .allMatch(e -> Math.abs(m.get(e.getKey()) - e.getValue()) <= 0.05 * e.getValue()), processes::logs);
    assertThat(got.keySet()).isEqualTo(expected.keySet());
  }

  @Test
  void theRowsCarryTheKubeletsLabelsAndNoPodLevelOrPauseRows() throws Exception {
    List<Sample> rows = Await.until("container_cpu_usage_seconds_total for every application container", LIMIT,
        () -> prometheus.query("container_cpu_usage_seconds_total"), l -> l.size() == PODS * APP_CONTAINERS,
        processes::logs);
    assertThat(rows).allSatisfy(s -> {
      assertThat(s.label("container")).isIn("app", "sidecar-1");
      assertThat(s.label("namespace")).isEqualTo("shop");
      assertThat(s.label("cpu")).isEqualTo("total");
      assertThat(s.label("image")).startsWith("docker.io/library/");
      assertThat(s.label("id")).startsWith("/kubepods/burstable/pod").endsWith("/" + s.label("name"));
    });
    assertThat(prometheus.query("container_memory_working_set_bytes{container=\"\"}")).isEmpty();
    assertThat(prometheus.metricTypes()).containsEntry("container_cpu_usage_seconds_total", "counter");
  }
}
