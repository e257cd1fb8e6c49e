package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.metaValue;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.Await;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.ServerFixture;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The metric server keeps each sandbox's control connection between scrapes, against the simulator over
 * real sockets: healthy sandboxes see one connection however often they are scraped, and sandboxes that
 * hang up after replying, or send bytes nobody asked for, are still scraped every time, on new connections.
 */
@Timeout(120)
class KeptControlConnectionsTest {
  private static final String TCP = "127.0.0.1:0";

  @RegisterExtension final ServerFixture fixture = new ServerFixture();

  private MetricServer server(Simulator sim) throws Exception {
    return fixture.server(fixture.options(TCP).withSandboxTimeout(Duration.ofSeconds(5)).withSelfMetrics(true));
  }

  private static String scrape(MetricServer server) throws IOException {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
    assertThat(r.status()).isEqualTo(200);
    return r.text();
  }

  @Test
  void healthySandboxesKeepOneConnectionAcrossScrapes() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    List<SimulatedSandbox> sandboxes = List.of(
        sim.createRunning(SandboxSpec.builder("a").build()),
        sim.createRunning(SandboxSpec.builder("b").build()),
        sim.createRunning(SandboxSpec.builder("c").build()));
    MetricServer server = server(sim);
    for (int i = 0; i < 6; i++) {
      assertThat(sandboxesWithData(scrape(server), "runsc_")).as("scrape %d", i).containsExactly("a", "b", "c");
      Await.until("the three connections are kept", () -> server.keptControlConnections() == 3);
    }
    for (SimulatedSandbox sb : sandboxes) {
      assertThat(sb.acceptedConnections()).as(sb.id()).isEqualTo(1);
      assertThat(sb.openConnections()).as(sb.id()).isEqualTo(1);
    }
  }

  @Test
  void sandboxesThatMisbehaveWithTheConnectionAreScrapedEveryTimeOnNewConnections() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox healthy = sim.createRunning(SandboxSpec.builder("healthy").build());
    // Hangs up after every reply: after two such hang-ups it gets a connection per call, as from runsc.
    SimulatedSandbox closing = sim.createRunning(SandboxSpec.builder("closing").fault(Fault.CLOSE_AFTER_REPLY).build());
    // A byte right behind each reply: the reply counts (as it always did), the connection is closed.
    SimulatedSandbox stray = sim.createRunning(SandboxSpec.builder("stray").fault(Fault.STRAY_BYTE).build());
    // A byte 50 ms after each reply, while idle: the connection is closed, the next scrape connects afresh.
    SimulatedSandbox idle = sim.createRunning(SandboxSpec.builder("idle").fault(Fault.IDLE_BYTE).build());
    MetricServer server = server(sim);
    int scrapes = 5;
    for (int i = 0; i < scrapes; i++) {
      String text = scrape(server);
      assertThat(sandboxesWithData(text, "runsc_")).as("scrape %d", i)
          .containsExactly("closing", "healthy", "idle", "stray");
      assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
      // Every connection but the healthy sandbox's is closed between scrapes.
      Await.until("the misbehaving sandboxes' connections are closed",
          () -> closing.openConnections() == 0 && stray.openConnections() == 0 && idle.openConnections() == 0);
      Await.until("only the healthy sandbox's connection is kept", () -> server.keptControlConnections() == 1);
    }
    assertThat(healthy.acceptedConnections()).isEqualTo(1);
    for (SimulatedSandbox sb : List.of(closing, stray, idle)) {
      assertThat(sb.acceptedConnections()).as(sb.id()).isEqualTo(scrapes);
    }
    // No query failed on the way: a closed kept connection is not a failure.
    String text = scrape(server);
    assertThat(text).doesNotContainPattern("runsc_meta_sandbox_query_failures_total\\{reason=\"[a-z_]+\"} [1-9]");
  }

  @Test
  void aReplyThatCannotBeDecodedClosesItsConnection() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox garbage = sim.createRunning(SandboxSpec.builder("garbage").fault(Fault.GARBAGE).build());
    MetricServer server = server(sim);
    for (int i = 0; i < 3; i++) {
      assertThat(metaValue(scrape(server), "num_sandboxes_broken_metrics")).isEqualTo("1");
      Await.until("the connection is closed", () -> garbage.openConnections() == 0);
    }
    assertThat(garbage.acceptedConnections()).isEqualTo(3);
    assertThat(server.keptControlConnections()).isZero();
  }

  @Test
  void aSandboxNoLongerServedHasItsConnectionClosedByTheServer() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox stays = sim.createRunning(SandboxSpec.builder("stays").build());
    SimulatedSandbox leaves = sim.createRunning(SandboxSpec.builder("leaves").build());
    MetricServer server = server(sim);
    assertThat(sandboxesWithData(scrape(server), "runsc_")).containsExactly("leaves", "stays");
    Await.until("both connections are kept", () -> server.keptControlConnections() == 2);
    assertThat(leaves.openConnections()).isEqualTo(1);
    // Its state files go away while its process (and control socket) live on: only the server can close.
    for (Path f : leaves.stateFiles()) {
      Files.delete(f);
    }
    assertThat(sandboxesWithData(scrape(server), "runsc_")).containsExactly("stays");
    Await.until("the server closes the connection of a sandbox it no longer serves",
        () -> leaves.openConnections() == 0);
    assertThat(server.keptControlConnections()).isEqualTo(1);
    assertThat(stays.openConnections()).isEqualTo(1);
  }

  @Test
  void aSandboxRecreatedUnderItsIdIsAskedOnANewConnection() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    sim.createRunning(SandboxSpec.builder("again").build());
    MetricServer server = server(sim);
    assertThat(sandboxesWithData(scrape(server), "runsc_")).containsExactly("again");
    Await.until("the connection is kept", () -> server.keptControlConnections() == 1);
    SimulatedSandbox second = sim.recreate("again");
    assertThat(sandboxesWithData(scrape(server), "runsc_")).containsExactly("again");
    assertThat(second.acceptedConnections()).isEqualTo(1);
    Await.until("only the new incarnation's connection is kept", () -> server.keptControlConnections() == 1);
  }

  @Test
  void shutdownClosesTheKeptConnections() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("one").build());
    MetricServer server = server(sim);
    scrape(server);
    Await.until("the connection is kept", () -> sb.openConnections() == 1);
    server.shutdown();
    Await.until("shutdown closes it", () -> sb.openConnections() == 0);
    assertThat(server.keptControlConnections()).isZero();
  }
}
