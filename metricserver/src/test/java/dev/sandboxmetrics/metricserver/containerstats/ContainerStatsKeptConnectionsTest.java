package dev.sandboxmetrics.metricserver.containerstats;

import static dev.sandboxmetrics.metricserver.containerstats.ContainerStatsServerTest.samples;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.testing.Await;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code metric-server --container-stats} asks {@code containerManager.Event} on connections kept between
 * scrapes, like the export's, against simulated pods over real sockets: steady scrapes open no connection
 * (a sandbox holds at most two: its export and its Events may run at the same time), a sandbox that hangs
 * up after every reply still gets its container stats every scrape, and a byte nobody asked for closes
 * the connections without costing the next scrape anything.
 */
@Timeout(120)
class ContainerStatsKeptConnectionsTest {
  private static final String TCP = "127.0.0.1:0";

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

  private MetricServer server() throws Exception {
    MetricServer s = MetricServer.start(MetricServerOptions.of(tmp.resolve("root").toString(), TCP)
        .withSandboxTimeout(Duration.ofSeconds(5))
        .withContainerStats(true)
        // No host cgroup: CPU is the sandbox's own split (these tests count connections, not CPU).
        .withCgroupRoot(Files.createDirectories(tmp.resolve("no-cgroup"))));
    toClose.add(s);
    return s;
  }

  private static SimulatedSandbox pod(Simulator sim, String id, Fault fault) throws Exception {
    return sim.createRunning(SandboxSpec.builder(id).podName("web-" + id).namespace("shop")
        .cri(SandboxSpec.Cri.CONTAINERD).podContainers(2).fault(fault).build());
  }

  private static String scrape(MetricServer server) throws Exception {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
    assertThat(r.status()).isEqualTo(200);
    return r.text();
  }

  /** The pod's application containers that have a CPU row. */
  private static long cpuRows(String text, String pod) {
    return samples(text, "container_cpu_usage_seconds_total").stream()
        .filter(s -> s.labels().get("pod").equals(pod)).count();
  }

  private static List<String> dropped(String text, String sandbox) {
    return samples(text, "runsc_container_stats_dropped").stream()
        .filter(s -> s.labels().get("sandbox").equals(sandbox))
        .map(s -> s.labels().get("container") + ":" + s.labels().get("reason")).toList();
  }

  @Test
  void steadyScrapesWithContainerStatsOpenNoConnections() throws Exception {
    Simulator sim = simulator();
    List<SimulatedSandbox> pods = List.of(pod(sim, "a", Fault.NONE), pod(sim, "b", Fault.NONE),
        pod(sim, "c", Fault.NONE));
    MetricServer server = server();
    int scrapes = 8;
    for (int i = 0; i < scrapes; i++) {
      String text = scrape(server);
      for (SimulatedSandbox sb : pods) {
        assertThat(cpuRows(text, "web-" + sb.id())).as("scrape %d, %s", i, sb.id()).isEqualTo(2);
        assertThat(dropped(text, sb.id())).as("scrape %d, %s", i, sb.id()).isEmpty();
      }
      // Each reply is given back once decoded; wait for that before the next scrape takes the connections.
      Await.until("every connection opened is still open (kept)",
          () -> pods.stream().allMatch(sb -> sb.openConnections() == sb.acceptedConnections()));
      Await.until("every open connection is idle in the server's keeping",
          () -> server.keptControlConnections()
              == pods.stream().mapToLong(SimulatedSandbox::openConnections).sum());
    }
    for (SimulatedSandbox sb : pods) {
      // One connection per call once (3 Events per scrape in turn, and the export beside them), not per
      // scrape: a connection per scrape would have made it 1 + 8 here.
      assertThat(sb.acceptedConnections()).as(sb.id()).isBetween(1L, 2L);
      assertThat(sb.podStats().eventCalls()).as(sb.id()).isEqualTo(3L * scrapes);
    }
    assertThat(server.keptControlConnections()).isBetween(3, 6);
  }

  @Test
  void aSandboxThatHangsUpAfterEveryReplyGetsItsContainerStatsEveryScrape() throws Exception {
    Simulator sim = simulator();
    SimulatedSandbox healthy = pod(sim, "healthy", Fault.NONE);
    SimulatedSandbox closing = pod(sim, "closing", Fault.CLOSE_AFTER_REPLY);
    MetricServer server = server();
    int scrapes = 5;
    for (int i = 0; i < scrapes; i++) {
      String text = scrape(server);
      for (SimulatedSandbox sb : List.of(healthy, closing)) {
        assertThat(cpuRows(text, "web-" + sb.id())).as("scrape %d, %s", i, sb.id()).isEqualTo(2);
        assertThat(dropped(text, sb.id())).as("scrape %d, %s", i, sb.id()).isEmpty();
        assertThat(text).containsPattern("runsc_fs_opens\\{[^}]*sandbox=\"" + sb.id() + "\"");
      }
      Await.until("the hung-up connections are closed", () -> closing.openConnections() == 0);
    }
    // Its three Events and its export were each answered on a connection of their own (a few calls more
    // went out on connections it had closed, before the server noticed that it takes one call each).
    assertThat(closing.acceptedConnections()).isGreaterThanOrEqualTo(4L * scrapes);
    assertThat(closing.podStats().eventCalls()).isEqualTo(3L * scrapes);
    assertThat(healthy.acceptedConnections()).isBetween(1L, 2L);
    // No query failed on the way: a connection closed by the sandbox after its reply is not a failure.
    assertThat(scrape(server))
        .doesNotContainPattern("runsc_meta_sandbox_query_failures_total\\{reason=\"[a-z_]+\"} [1-9]");
  }

  @Test
  void aByteNobodyAskedForClosesTheConnectionsAndTheNextScrapeStillHasEverything() throws Exception {
    Simulator sim = simulator();
    SimulatedSandbox sb = pod(sim, "stray", Fault.NONE);
    MetricServer server = server();
    assertThat(cpuRows(scrape(server), "web-stray")).isEqualTo(2);
    Await.until("the connections are kept",
        () -> sb.openConnections() >= 1 && server.keptControlConnections() == sb.openConnections());

    sb.setFault(Fault.STRAY_BYTE);
    String text = scrape(server);
    // The export's reply counts (the byte behind it closes its connection); an Event reply followed by a
    // byte is not runsc's answer: malformed, only that sandbox's container stats are dropped.
    assertThat(text).containsPattern("runsc_fs_opens\\{[^}]*sandbox=\"stray\"");
    assertThat(dropped(text, "stray")).allMatch(d -> d.endsWith(":malformed") || d.endsWith(":timeout"));
    Await.until("the connections that carried a stray byte are closed",
        () -> sb.openConnections() == 0 && server.keptControlConnections() == 0);

    sb.setFault(Fault.NONE);
    long accepted = sb.acceptedConnections();
    for (int i = 0; i < 3; i++) {
      text = scrape(server);
      assertThat(cpuRows(text, "web-stray")).as("scrape %d after", i).isEqualTo(2);
      assertThat(dropped(text, "stray")).as("scrape %d after", i).isEmpty();
      Await.until("the new connections are kept", () -> server.keptControlConnections() == sb.openConnections());
    }
    // New connections once, kept from then on.
    assertThat(sb.acceptedConnections() - accepted).isBetween(1L, 2L);
  }
}
