package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.label;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.metaValue;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithMeta;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.Await;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.ServerFixture;
import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.runsc.discovery.IterationId;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scrapes of a real metric server over real sockets, against simulated runsc sandboxes that come, go,
 * misbehave and are re-created.
 */
@Timeout(120)
class MetricServerScrapeTest {
  private static final String TCP = "127.0.0.1:0";
  private static final Duration SANDBOX_TIMEOUT = Duration.ofMillis(1500);

  @RegisterExtension final ServerFixture fixture = new ServerFixture();

  private Path root() {
    return fixture.root();
  }

  private Simulator simulator(String address) throws IOException {
    return fixture.simulator(address);
  }

  /** Options with this test's short sandbox timeout, which a test may still override. */
  private MetricServerOptions options(String address) {
    return fixture.options(address).withSandboxTimeout(SANDBOX_TIMEOUT);
  }

  private MetricServer server(MetricServerOptions options) throws StartupException {
    return fixture.server(options);
  }

  private MetricServer server(String address) throws StartupException {
    return server(options(address));
  }

  private static String scrape(SocketAddress server, String query) throws IOException {
    RawHttp.Response r = RawHttp.get(server, "/metrics" + query);
    assertThat(r.status()).as("status of /metrics%s: %s", query, r.text()).isEqualTo(200);
    return r.text();
  }

  private static String scrape(MetricServer server) throws IOException {
    return scrape(server.tcpAddress(), "");
  }

  private static SandboxSpec healthy(String id) {
    return SandboxSpec.builder(id).build();
  }

  @Test
  void servesSandboxesOverTcpWithTheirLabels() throws Exception {
    Simulator sim = simulator(TCP);
    SimulatedSandbox web = sim.createRunning(SandboxSpec.builder("web").podName("web-0").namespace("shop").build());
    sim.createRunning(healthy("plain"));
    MetricServer server = server(TCP);

    String text = scrape(server);
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("plain", "web");
    assertThat(text).contains("runsc_fs_opens{");
    String webLine = "runsc_meta_sandbox_presence{iteration=\"" + IterationId.of("web", web.createdAt()) + "\"";
    assertThat(text).contains(webLine + ",namespace_name=\"shop\",pod_name=\"web-0\",sandbox=\"web\"} 1 ");
    assertThat(metaValue(text, "num_sandboxes_running")).isEqualTo("2");
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
    assertThat(metaValue(text, "num_sandboxes_total")).isEqualTo("2");
    assertThat(sandboxesWithMeta(text, "sandbox_metadata")).containsExactly("plain", "web");
    assertThat(sandboxesWithMeta(text, "spec_metadata")).containsExactly("plain", "web");
    assertThat(sandboxesWithMeta(text, "sandbox_creation_time_seconds")).containsExactly("plain", "web");
    assertThat(text).contains("runsc_meta_sandbox_capabilities{capability=\"CHOWN\",");
    assertThat(text).containsPattern("\nprocess_start_time_seconds \\d+\\.\\d{6} \\d+\n");
  }

  @Test
  void servesSandboxesOverAUnixSocket() throws Exception {
    String socket = fixture.dir().resolve("metrics.sock").toString();
    Simulator sim = simulator(socket);
    sim.createRunning(healthy("s1"));
    server(socket);

    String text = scrape(UnixDomainSocketAddress.of(socket), "");
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("s1");
  }

  @Test
  void addressWithRuntimeRootPlaceholderMatchesSandboxesThatUseItToo() throws Exception {
    String address = "%RUNTIME_ROOT%/metrics.sock";
    Simulator sim = simulator(address);
    sim.createRunning(healthy("s1"));
    server(address);

    String text = scrape(UnixDomainSocketAddress.of(root().resolve("metrics.sock")), "");
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("s1");
  }

  @Test
  void sandboxWithoutMetricsOrForAnotherServerOrNotRunningIsNotServed() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(healthy("mine"));
    sim.createRunning(SandboxSpec.builder("no-metrics").noMetrics().build());
    sim.createRunning(SandboxSpec.builder("other-server").metricServerAddress("127.0.0.1:1337").build());
    sim.create(healthy("created-only-but-alive")); // status "created": its process runs, so it is served
    sim.createRunning(healthy("killed")).kill9(); // leftover: state says running, process gone
    sim.createRunning(healthy("stopped")).stop();
    MetricServer server = server(TCP);

    String text = scrape(server);
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("created-only-but-alive", "mine");
    assertThat(metaValue(text, "num_sandboxes_total")).isEqualTo("2");
  }

  @Test
  void sandboxesAppearingAndDisappearingBetweenScrapesAreFollowed() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(healthy("a"));
    MetricServer server = server(TCP);
    assertThat(sandboxesWithMeta(scrape(server), "sandbox_presence")).containsExactly("a");

    sim.createRunning(healthy("b"));
    sim.createRunning(healthy("c"));
    assertThat(sandboxesWithData(scrape(server), "runsc_")).containsExactly("a", "b", "c");

    sim.sandbox("a").destroy(); // files gone
    sim.sandbox("b").stop(); // process gone, files stay
    String text = scrape(server);
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("c");
    assertThat(metaValue(text, "num_sandboxes_total")).isEqualTo("3");
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
  }

  @Test
  void recreatedSandboxIsANewIteration() throws Exception {
    Simulator sim = simulator(TCP);
    SimulatedSandbox first = sim.createRunning(healthy("s1"));
    MetricServer server = server(TCP);
    String before = label(scrape(server), "runsc_meta_sandbox_presence{", "iteration");
    assertThat(before).isEqualTo(IterationId.of("s1", first.createdAt()));

    SimulatedSandbox second = sim.recreate("s1");
    String text = scrape(server);
    String after = label(text, "runsc_meta_sandbox_presence{", "iteration");
    assertThat(after).isEqualTo(IterationId.of("s1", second.createdAt())).isNotEqualTo(before);
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("s1");
    assertThat(metaValue(text, "num_sandboxes_total")).isEqualTo("2");
    // A new incarnation has a fresh verifier: its counters starting again from low values are fine.
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("s1");
  }

  @Test
  void lockedStateFileIsSkippedUntilReleased() throws Exception {
    Simulator sim = simulator(TCP);
    SimulatedSandbox busy = sim.createRunning(healthy("busy"));
    Flock lock = Flock.lock(busy.lockFile());
    MetricServer server;
    try {
      server = server(TCP);
      assertThat(sandboxesWithMeta(scrape(server), "sandbox_presence")).isEmpty();
    } finally {
      lock.close();
    }
    assertThat(sandboxesWithMeta(scrape(server), "sandbox_presence")).containsExactly("busy");
  }

  @Test
  void restartedServerServesEverySandboxThatRunsNow() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(healthy("old"));
    sim.createRunning(healthy("going"));
    MetricServer first = server(TCP);
    assertThat(sandboxesWithData(scrape(first), "runsc_")).containsExactly("going", "old");
    first.shutdown();

    // While no server runs, sandboxes come and go.
    sim.sandbox("going").destroy();
    sim.createRunning(healthy("new"));
    sim.recreate("old");

    MetricServer second = server(TCP);
    sim.createRunning(healthy("newer"));
    String text = scrape(second);
    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("new", "newer", "old");
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
  }

  @Test
  void metricsFilterKeepsMatchingMetricsAndIsNamedInTheHeader() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(healthy("s1"));
    MetricServer server = server(TCP);

    String text = scrape(server.tcpAddress(), "?runsc-sandbox-metrics-filter=" + enc("^fs_"));
    assertThat(text.lines().findFirst().orElseThrow()).endsWith("(filtered using regular expression: \"^fs_\")");
    List<String> dataNames = dataMetricNames(text);
    assertThat(dataNames).isNotEmpty().allMatch(n -> n.startsWith("runsc_fs_"));
    // Meta lines are not filtered.
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("s1");

    String escaped = scrape(server.tcpAddress(), "%3Frunsc-sandbox-metrics-filter=" + enc("^fs_"));
    assertThat(dataMetricNames(escaped)).isEqualTo(dataNames);

    // Another filter, then the first again (the cache must not mix them up).
    assertThat(dataMetricNames(scrape(server.tcpAddress(), "?runsc-sandbox-metrics-filter=netstack")))
        .isNotEmpty()
        .allMatch(n -> n.contains("netstack"));
    assertThat(dataMetricNames(scrape(server.tcpAddress(), "?runsc-sandbox-metrics-filter=" + enc("^fs_"))))
        .isEqualTo(dataNames);
  }

  @Test
  void capabilityFilterKeepsMatchingCapabilities() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(SandboxSpec.builder("s1").capabilities("CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL").build());
    MetricServer server = server(TCP);

    assertThat(capabilities(scrape(server))).containsExactly("CHOWN", "KILL", "NET_RAW");
    assertThat(capabilities(scrape(server.tcpAddress(), "?runsc-capability-filter=NET_"))).containsExactly("NET_RAW");
    assertThat(capabilities(scrape(server.tcpAddress(), "?runsc-capability-filter=^CAP_K"))).containsExactly("KILL");
  }

  @Test
  void healthySandboxesAreServedWhateverTheBrokenOnesDo() throws Exception {
    Simulator sim = simulator(TCP);
    List<String> healthyIds = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      String id = String.format("healthy-%02d", i);
      healthyIds.add(id);
      sim.createRunning(healthy(id));
    }
    List<String> brokenIds = new ArrayList<>();
    for (Fault fault : Fault.values()) {
      if (fault == Fault.NONE) {
        continue;
      }
      String id = "fault-" + fault.cliName();
      SandboxSpec.Builder spec = SandboxSpec.builder(id).fault(fault);
      if (fault == Fault.SLOW) {
        spec.slowDelay(Duration.ofMillis(300)); // slow, but within the per-sandbox timeout: not broken
        healthyIds.add(id);
      } else if (fault.eventOnly() || fault.connectionOnly()) {
        // Only containerManager.Event misbehaves, or the connection after correct replies: the metrics are fine.
        healthyIds.add(id);
      } else {
        brokenIds.add(id);
      }
      if (fault == Fault.OVERSIZED) {
        spec.oversizedBytes(2L << 20);
      }
      sim.createRunning(spec.build());
    }
    MetricServer server =
        server(options(TCP).withMaxReplyBytes(1 << 20));
    // A filter that leaves some metrics out lets ignore-filter show; counter-decrease shows from the second
    // export on.
    String query = "?runsc-sandbox-metrics-filter=" + enc("^(fs|netstack|unimplemented)");
    scrape(server.tcpAddress(), query);

    long start = System.nanoTime();
    String text = scrape(server.tcpAddress(), query);
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    List<String> all = new ArrayList<>(healthyIds);
    all.addAll(brokenIds);
    all.sort(null);
    healthyIds.sort(null);
    assertThat(sandboxesWithData(text, "runsc_")).isEqualTo(healthyIds);
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).isEqualTo(all);
    assertThat(sandboxesWithMeta(text, "sandbox_running")).isEqualTo(all);
    assertThat(sandboxesWithMeta(text, "sandbox_metadata")).isEqualTo(healthyIds);
    assertThat(metaValue(text, "num_sandboxes_running")).isEqualTo(Integer.toString(all.size()));
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo(Integer.toString(brokenIds.size()));
    // Every sandbox is asked at once, so stalled ones cost one per-sandbox timeout, not one each.
    assertThat(took).isLessThan(SANDBOX_TIMEOUT.plusSeconds(8));
  }

  @Test
  void threeHundredSandboxesInOneScrape() throws Exception {
    Simulator sim = simulator(TCP);
    List<String> ids = IntStream.range(0, 300).mapToObj(i -> String.format("sb-%03d", i)).toList();
    for (String id : ids) {
      sim.createRunning(SandboxSpec.builder(id).profile(Profile.BENCH).build());
    }
    MetricServer server = server(options(TCP).withSandboxTimeout(Duration.ofSeconds(20)));
    String text = scrape(server.tcpAddress(), "");
    assertThat(sandboxesWithData(text, "runsc_")).isEqualTo(ids);
    assertThat(metaValue(text, "num_sandboxes_running")).isEqualTo("300");
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
  }

  @Test
  void concurrentScrapesBothGetEverySandbox() throws Exception {
    Simulator sim = simulator(TCP);
    for (int i = 0; i < 10; i++) {
      sim.createRunning(healthy("s" + i));
    }
    MetricServer server = server(TCP);
    for (int round = 0; round < 3; round++) {
      List<CompletableFuture<String>> scrapes = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        scrapes.add(CompletableFuture.supplyAsync(() -> {
          try {
            return scrape(server);
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      for (CompletableFuture<String> s : scrapes) {
        String text = s.get();
        assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
        assertThat(sandboxesWithData(text, "runsc_")).hasSize(10);
      }
    }
  }

  @Test
  void twoScrapesOfTheSameDataAreByteIdentical() throws Exception {
    Simulator sim = simulator(TCP);
    sim.createRunning(SandboxSpec.builder("b").profile(Profile.BENCH).build());
    sim.createRunning(SandboxSpec.builder("a").profile(Profile.BENCH).build());
    // The server's own metrics (durations, memory, CPU time) change with every scrape by nature.
    MetricServer server = server(options(TCP).withSelfMetrics(false));
    // The bench profile sends the same values every time; only timestamps differ.
    String first = scrape(server).replaceAll(" \\d{13}\n", "\n").replaceAll("taken at [^:]*:[^:]*:[^ ]* ", "");
    String second = scrape(server).replaceAll(" \\d{13}\n", "\n").replaceAll("taken at [^:]*:[^:]*:[^ ]* ", "");
    assertThat(second).isEqualTo(first);
    assertThat(first.indexOf("sandbox=\"a\"")).isLessThan(first.indexOf("sandbox=\"b\""));
  }

  @Test
  void shutdownLetsARunningExportFinishAnswers503MeanwhileAndRemovesItsFiles() throws Exception {
    String socket = fixture.dir().resolve("metrics.sock").toString();
    Path pidFile = fixture.dir().resolve("server.pid");
    Simulator sim = simulator(socket);
    sim.createRunning(healthy("ok"));
    SimulatedSandbox stuck = sim.createRunning(SandboxSpec.builder("stuck").fault(Fault.STALL).build());
    MetricServer server = server(options(socket).withPidFile(pidFile));
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);

    try (RawHttp idle = RawHttp.connect(address); RawHttp exporting = RawHttp.connect(address)) {
      assertThat(idle.request("GET", "/runsc-metrics/pid", null).status()).isEqualTo(200);
      exporting.send("GET", "/metrics", null); // waits for "stuck" until the per-sandbox timeout
      // The export is running once the server has connected to the stalled sandbox.
      Await.until("the export to reach the stalled sandbox", () -> stuck.openConnections() > 0);
      server.shutdownAsync(MetricServer.Termination.REQUESTED);
      Await.until("the server to start shutting down", server::isShuttingDown);

      RawHttp.Response refused = idle.request("GET", "/metrics", null);
      assertThat(refused.status()).isEqualTo(503);
      assertThat(refused.text()).isEqualTo("server is shutting down\n");

      RawHttp.Response finished = exporting.read();
      assertThat(finished.status()).isEqualTo(200);
      assertThat(sandboxesWithData(finished.text(), "runsc_")).containsExactly("ok");
    }
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.REQUESTED);
    assertThat(Path.of(socket)).doesNotExist();
    assertThat(pidFile).doesNotExist();
  }

  /** Polls {@code condition} until it holds; fails naming {@code what} after 20 s. */

  private static List<String> dataMetricNames(String text) {
    return dev.sandboxmetrics.metricserver.testing.Scrapes.samples(text).stream()
        .filter(l -> l.startsWith("runsc_") && !l.startsWith("runsc_meta_"))
        .map(l -> l.substring(0, l.indexOf('{') < 0 ? l.indexOf(' ') : l.indexOf('{')))
        .distinct()
        .sorted()
        .toList();
  }

  private static List<String> capabilities(String text) {
    List<String> caps = new ArrayList<>();
    for (String l : dev.sandboxmetrics.metricserver.testing.Scrapes.samples(text)) {
      if (l.startsWith("runsc_meta_sandbox_capabilities{")) {
        caps.add(l.replaceAll(".*capability=\"([^\"]*)\".*", "$1"));
      }
    }
    caps.sort(null);
    return caps;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
