package dev.sandboxmetrics.metricserver.containerstats;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.PodStats;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code metric-server --container-stats} over real sockets against simulated pods: cAdvisor's series and
 * the kubelet's labels, runsc's CPU formula against the host cgroup the simulator keeps, the fallback without
 * a host cgroup, and every Event fault costing only the faulty sandbox's container stats.
 */
@Timeout(120)
class ContainerStatsServerTest {
  private static final String TCP = "127.0.0.1:0";
  private static final Pattern SAMPLE = Pattern.compile("^([a-z_]+)\\{([^}]*)\\} (\\S+)( \\d+)?$");

  @TempDir Path tmp;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private Simulator simulator() throws Exception {
    Simulator sim = Simulator.start(tmp.resolve("root"), TCP, tmp.resolve("cgroup"));
    toClose.add(sim);
    return sim;
  }

  private MetricServer server(boolean containerStats, Path cgroupRoot) throws Exception {
    MetricServer s = MetricServer.start(MetricServerOptions.of(tmp.resolve("root").toString(), TCP)
        .withSandboxTimeout(Duration.ofMillis(1500))
        .withContainerStats(containerStats)
        .withCgroupRoot(cgroupRoot));
    toClose.add(s);
    return s;
  }

  private static SimulatedSandbox pod(Simulator sim, String id, SandboxSpec.Cri cri, Fault fault) throws Exception {
    return sim.createRunning(SandboxSpec.builder(id).podName("web-" + id).namespace("shop").cri(cri)
        .podContainers(2).fault(fault).build());
  }

  private static String scrape(MetricServer server) throws Exception {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
    assertThat(r.status()).isEqualTo(200);
    return r.text();
  }

  /** A sample: its labels in order, and its value. */
  record Sample(Map<String, String> labels, double value) {}

  static List<Sample> samples(String text, String name) {
    List<Sample> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (m.matches() && m.group(1).equals(name)) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String pair : m.group(2).split(",(?=[a-z_]+=\")")) {
          int eq = pair.indexOf('=');
          labels.put(pair.substring(0, eq), pair.substring(eq + 2, pair.length() - 1));
        }
        out.add(new Sample(labels, Double.parseDouble(m.group(3))));
      }
    }
    return out;
  }

  private static Map<String, Double> byName(List<Sample> samples) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Sample s : samples) {
      out.put(s.labels().get("name"), s.value());
    }
    return out;
  }

  @Test
  void everyApplicationContainerHasCadvisorsSeriesWithTheKubeletsLabels() throws Exception {
    Simulator sim = simulator();
    SimulatedSandbox containerd = pod(sim, "a", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    SimulatedSandbox crio = pod(sim, "b", SandboxSpec.Cri.CRIO, Fault.NONE);
    MetricServer server = server(true, tmp.resolve("cgroup"));
    String text = scrape(server);

    List<Sample> cpu = samples(text, "container_cpu_usage_seconds_total");
    assertThat(cpu).hasSize(4);
    String app = containerd.containerIds().get(1);
    Sample first = cpu.stream().filter(s -> s.labels().get("name").equals(app)).findFirst().orElseThrow();
    assertThat(first.labels()).containsExactly(
        Map.entry("container", "app"), Map.entry("cpu", "total"),
        Map.entry("id", "/kubepods/burstable/pod" + java.util.UUID.nameUUIDFromBytes("a".getBytes()) + "/" + app),
        Map.entry("image", "docker.io/library/nginx:1.27"), Map.entry("name", app),
        Map.entry("namespace", "shop"), Map.entry("pod", "web-a"));
    assertThat(cpu).extracting(s -> s.labels().get("container")).containsOnly("app", "sidecar-1");
    assertThat(cpu).extracting(s -> s.labels().get("pod")).containsOnly("web-a", "web-b");
    assertThat(byName(cpu)).doesNotContainKeys("a", "b"); // No pause container, no pod-level row.
    for (String name : List.of("container_memory_usage_bytes", "container_memory_working_set_bytes",
        "container_threads", "container_spec_memory_limit_bytes", "container_spec_cpu_quota",
        "container_spec_cpu_period", "container_spec_cpu_shares", "container_start_time_seconds")) {
      assertThat(samples(text, name)).as(name).hasSize(4)
          .allSatisfy(s -> assertThat(s.labels().keySet())
              .containsExactly("container", "id", "image", "name", "namespace", "pod"));
    }
    assertThat(text).contains("# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.\n"
        + "# TYPE container_cpu_usage_seconds_total counter\n");
    assertThat(byName(samples(text, "container_spec_memory_limit_bytes")).get(app)).isEqualTo(256.0 * (1 << 20));
    assertThat(byName(samples(text, "container_spec_cpu_quota")).get(app)).isEqualTo(50_000);
    assertThat(byName(samples(text, "container_spec_cpu_shares")).get(app)).isEqualTo(512);
    // Whole seconds, as cAdvisor writes them; the container was created just after its sandbox.
    double start = byName(samples(text, "container_start_time_seconds")).get(app);
    assertThat(start).isEqualTo(Math.floor(start))
        .isBetween((double) containerd.createdAt().getEpochSecond(), containerd.createdAt().getEpochSecond() + 5.0);
    assertThat(samples(text, "runsc_container_stats_cpu_from_host_cgroup")).hasSize(2)
        .allSatisfy(s -> assertThat(s.value()).isEqualTo(1));
    assertThat(samples(text, "runsc_sandbox_network_receive_bytes_total"))
        .extracting(s -> s.labels().get("interface")).contains("lo", "eth0");
    // The sentry's 48 MiB, give or take the containers' memory moving between the simulator's cgroup
    // write (at most 100 ms old) and the Event replies.
    assertThat(samples(text, "runsc_sandbox_memory_overhead_bytes")).hasSize(2)
        .allSatisfy(s -> assertThat(s.value()).isBetween(PodStats.SENTRY_MEMORY_BYTES * 0.9,
            PodStats.SENTRY_MEMORY_BYTES * 1.1));
    assertThat(samples(text, "runsc_sandbox_pressure_cpu_waiting_seconds_total")).hasSize(2);
    assertThat(text).contains("runsc_fs_opens{"); // The sandboxes' own metrics are still there.
    assertThat(crio.containerIds()).hasSize(3);
  }

  @Test
  void cpuIsTheSandboxsSplitScaledToTheHostCgroup() throws Exception {
    Simulator sim = simulator();
    SimulatedSandbox sb = pod(sim, "a", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    MetricServer server = server(true, tmp.resolve("cgroup"));
    Map<String, Double> before = byName(samples(scrape(server), "container_cpu_usage_seconds_total"));
    Thread.sleep(300);
    Map<String, Double> after = byName(samples(scrape(server), "container_cpu_usage_seconds_total"));
    String app = sb.containerIds().get(1);
    String sidecar = sb.containerIds().get(2);
    assertThat(after.get(app)).isGreaterThan(before.get(app));
    // Every running container, the pause container included, is asked once per scrape.
    assertThat(sb.podStats().eventCalls()).isEqualTo(2 * 3);
    // The split is proportional to the containers' rates; the host cgroup scales both alike.
    double ratio = after.get(app) / after.get(sidecar);
    assertThat(ratio).isCloseTo(sb.podStats().expectedCores(app) / sb.podStats().expectedCores(sidecar),
        org.assertj.core.data.Offset.offset(0.01));
    // Together, the containers never exceed what the host cgroup measured.
    Path cpuStat = tmp.resolve("cgroup").resolve("kubepods");
    long usec = 0;
    try (var files = Files.walk(cpuStat)) {
      for (Path p : files.filter(p -> p.getFileName().toString().equals("cpu.stat")).toList()) {
        usec += Long.parseLong(Files.readString(p).lines().findFirst().orElseThrow().split(" ")[1]);
      }
    }
    assertThat(after.get(app) + after.get(sidecar)).isLessThanOrEqualTo(usec / 1e6 + 1);
  }

  @Test
  void backToBackScrapesKeepEveryCpuRowAndNoneGoesDown() throws Exception {
    // The simulator rewrites the host cgroup at most every 100 ms, so scrapes closer than that combine a
    // fresh split with the same host usage: runsc's total then moves by a nanosecond of rounding either way
    // (as a real sandbox's does with its sentry's split and the kernel's usage taken at different moments).
    // Such a decrease once dropped the row (cpu_decreased) in about a third of the scrapes.
    Simulator sim = simulator();
    pod(sim, "a", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    pod(sim, "b", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    MetricServer server = server(true, tmp.resolve("cgroup"));
    Map<String, Double> before = Map.of();
    for (int i = 0; i < 30; i++) {
      String text = scrape(server);
      Map<String, Double> now = byName(samples(text, "container_cpu_usage_seconds_total"));
      assertThat(now).as("scrape %d", i).hasSize(4);
      assertThat(samples(text, "runsc_container_stats_dropped")).as("scrape %d", i).isEmpty();
      for (Map.Entry<String, Double> e : before.entrySet()) {
        assertThat(now.get(e.getKey())).as("scrape %d, %s", i, e.getKey()).isGreaterThanOrEqualTo(e.getValue());
      }
      before = now;
    }
  }

  @Test
  void withoutAHostCgroupCpuIsTheSandboxsOwnAccountingAndSaysSo() throws Exception {
    Simulator sim = simulator();
    pod(sim, "a", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    Path empty = Files.createDirectories(tmp.resolve("no-cgroup"));
    MetricServer server = server(true, empty);
    String text = scrape(server);
    assertThat(samples(text, "runsc_container_stats_cpu_from_host_cgroup"))
        .singleElement().satisfies(s -> assertThat(s.value()).isZero());
    assertThat(samples(text, "container_cpu_usage_seconds_total")).hasSize(2);
    assertThat(samples(text, "runsc_sandbox_memory_overhead_bytes")).isEmpty();
  }

  @Test
  void withoutTheOptionThereAreNoContainerStatsAndNoEventCalls() throws Exception {
    Simulator sim = simulator();
    SimulatedSandbox sb = pod(sim, "a", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    MetricServer server = server(false, null);
    String text = scrape(server);
    scrape(server);
    assertThat(sb.podStats().eventCalls()).isZero();
    assertThat(text).doesNotContain("\ncontainer_").doesNotContain("runsc_sandbox_network")
        .doesNotContain("container_stats").contains("runsc_fs_opens{");
  }

  @Test
  void aSandboxWhoseEventFailsKeepsItsMetricsAndCostsNoOneElseTheirRows() throws Exception {
    Simulator sim = simulator();
    pod(sim, "good", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    for (Fault f : List.of(Fault.EVENT_ERROR, Fault.EVENT_STALL, Fault.EVENT_GARBAGE, Fault.EVENT_UNKNOWN_CONTAINER)) {
      pod(sim, f.cliName(), SandboxSpec.Cri.CONTAINERD, f);
    }
    MetricServer server = server(true, tmp.resolve("cgroup"));
    String text = scrape(server);
    assertThat(samples(text, "container_cpu_usage_seconds_total"))
        .extracting(s -> s.labels().get("pod")).containsOnly("web-good").hasSize(2);
    assertThat(samples(text, "container_memory_usage_bytes")).hasSize(2);
    assertThat(text).doesNotContain("ghost");
    List<String> reasons = new ArrayList<>();
    for (Sample s : samples(text, "runsc_container_stats_dropped")) {
      reasons.add(s.labels().get("sandbox") + ":" + s.labels().get("reason"));
    }
    // The stalled sandbox's first Event used up its time; the others were not asked.
    assertThat(reasons).contains("event-error:event_error", "event-garbage:malformed", "event-stall:event_failed",
        "event-stall:timeout", "event-unknown-container:wrong_container")
        .noneMatch(r -> r.startsWith("good:"));
    for (String sandbox : List.of("good", "event-error", "event-stall", "event-garbage", "event-unknown-container")) {
      assertThat(text).as(sandbox).contains("sandbox=\"" + sandbox + "\"} ");
      assertThat(text).containsPattern("runsc_fs_opens\\{[^}]*sandbox=\"" + Pattern.quote(sandbox) + "\"");
    }
  }

  @Test
  void aDecreasingCpuDropsThatContainerAndAbsurdMemoryIsCappedAtTheSandboxs() throws Exception {
    Simulator sim = simulator();
    pod(sim, "down", SandboxSpec.Cri.CONTAINERD, Fault.NONE);
    SimulatedSandbox huge = pod(sim, "huge", SandboxSpec.Cri.CONTAINERD, Fault.EVENT_ABSURD_MEMORY);
    MetricServer server = server(true, tmp.resolve("cgroup"));
    String text = scrape(server);
    assertThat(samples(text, "container_cpu_usage_seconds_total")).extracting(s -> s.labels().get("pod"))
        .containsOnly("web-down", "web-huge").hasSize(4);
    Path memoryCurrent = tmp.resolve("cgroup").resolve("kubepods")
        .resolve("burstable").resolve("pod" + java.util.UUID.nameUUIDFromBytes("huge".getBytes())).resolve("huge")
        .resolve("memory.current");
    double host = Double.parseDouble(Files.readString(memoryCurrent).trim());
    assertThat(samples(text, "container_memory_usage_bytes")).filteredOn(s -> s.labels().get("pod").equals("web-huge"))
        .hasSize(2).allSatisfy(s -> assertThat(s.value()).isLessThanOrEqualTo(host * 1.5).isPositive());
    assertThat(huge.fault()).isEqualTo(Fault.EVENT_ABSURD_MEMORY);

    sim.sandbox("down").setFault(Fault.EVENT_CPU_DECREASE);
    text = scrape(server);
    text = scrape(server);
    assertThat(samples(text, "container_cpu_usage_seconds_total")).extracting(s -> s.labels().get("pod"))
        .doesNotContain("web-down");
    assertThat(samples(text, "runsc_container_stats_dropped"))
        .filteredOn(s -> s.labels().get("sandbox").equals("down"))
        .extracting(s -> s.labels().get("reason")).contains("cpu_decreased");
  }
}
