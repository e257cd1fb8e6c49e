package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.e2e.PrometheusServer.Sample;
import dev.sandboxmetrics.e2e.StateFiles.Sandbox;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The paths users take to our metric server, each with the real program: Prometheus scraping it over TCP
 * and, through a socat bridge, over its Unix socket; the {@code %3F} filter form that Prometheus'
 * {@code metrics_path} produces; promtool's linter; {@code curl --unix-socket} and {@code curl --compressed}.
 *
 * <p>One set-up for the class, all real processes: two simulators (sandboxes registered for a TCP address
 * and for a Unix socket address, in the same runtime root), one metric server for each address (each must
 * serve only its own sandboxes), socat, and Prometheus scraping every second. The tests then ask
 * Prometheus, over its HTTP API, what it stored.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealClientsIT {
  private static final String PREFIX = "runsc_";
  private static final int TCP_SANDBOXES = 3;
  private static final int UNIX_SANDBOXES = 2;
  /** As runsc users write it: the server replaces it with the root directory, as runsc does. */
  private static final String UNIX_ADDRESS = "%RUNTIME_ROOT%/metrics.sock";
  private static final Duration START_LIMIT = Duration.ofSeconds(60);
  private static final Duration SCRAPE_LIMIT = Duration.ofSeconds(45);
  private static final long CURL_LIMIT_SECONDS = 30;
  /** MetricsEndpoint's system property for the size of the slices a body is rendered and compressed in. */
  private static final String SLICE_BYTES_PROPERTY = "sandboxmetrics.sliceBytes";

  /** The names gVisor's own metric server gives its meta metrics (runsc/metricserver/metricserver_metrics.go). */
  private static final Set<String> RUNSC_META_METRICS = Set.of(
      "sandbox_presence", "sandbox_running", "sandbox_checkpointed", "sandbox_restored",
      "sandbox_cpu_time_saved_milliseconds", "sandbox_wall_time_saved_milliseconds", "sandbox_metadata",
      "sandbox_capabilities", "spec_metadata", "sandbox_creation_time_seconds", "metric_server_presence",
      "num_sandboxes_running", "num_sandboxes_broken_metrics", "num_sandboxes_total",
      "num_sandboxes_checkpointed", "num_sandboxes_restored");

  private Path curl;
  private Path promtool;
  private Path work;
  private Path root;
  private Path socket;
  private String tcpAddress;
  private ChildProcesses processes;
  private final List<ChildProcess> servers = new ArrayList<>();
  private PrometheusServer prometheus;
  private Map<String, Sandbox> tcpSandboxes;
  private Map<String, Sandbox> unixSandboxes;
  private Exposition unfiltered;
  private String filter;
  private Set<String> familiesMatchingFilter;

  @BeforeAll
  void startSandboxesServersSocatAndPrometheus() throws Exception {
    curl = RequiredProgram.require("curl", "curl");
    promtool = RequiredProgram.require("promtool", "prometheus");
    Path socat = RequiredProgram.require("socat", "socat");
    RequiredProgram.require("prometheus", "prometheus");
    SandboxMetricsJar jar = SandboxMetricsJar.locate();

    work = Files.createTempDirectory("sandbox-metrics-e2e-");
    root = Files.createDirectory(work.resolve("root"));
    socket = root.resolve("metrics.sock");
    tcpAddress = "127.0.0.1:" + FreePort.onLoopback();
    processes = new ChildProcesses(work);

    // All four JVMs start at once; the waits below take as long as the slowest. Both simulators share the
    // root, so their sandbox IDs get different prefixes.
    processes.start("simulator-tcp", jar.command("--root=" + root, "--metric-server=" + tcpAddress,
        "simulate", "--sandboxes", String.valueOf(TCP_SANDBOXES), "--profile", "realistic", "--id-prefix", "tcp-"));
    processes.start("simulator-unix", jar.command("--root=" + root, "--metric-server=" + UNIX_ADDRESS,
        "simulate", "--sandboxes", String.valueOf(UNIX_SANDBOXES), "--profile", "realistic", "--id-prefix", "unix-"));
    // The TCP server cuts its body into slices of 2 KB instead of 128 KB, so that the few sandboxes here
    // make a gzip body compressed in many parts on several threads, as 100 bench sandboxes do: every
    // Prometheus and curl --compressed check of the TCP server then reads such a body.
    servers.add(processes.start("server-tcp", jar.command(List.of("-D" + SLICE_BYTES_PROPERTY + "=2048"),
        "--root=" + root, "--metric-server=" + tcpAddress, "metric-server")));
    servers.add(processes.start("server-unix", jar.command("--root=" + root, "--metric-server=" + UNIX_ADDRESS,
        "metric-server")));

    tcpSandboxes = Await.until(TCP_SANDBOXES + " simulated sandboxes registered for " + tcpAddress, START_LIMIT,
        () -> StateFiles.sandboxesFor(root, tcpAddress), found -> found.size() == TCP_SANDBOXES, processes::logs);
    unixSandboxes = Await.until(UNIX_SANDBOXES + " simulated sandboxes registered for " + UNIX_ADDRESS,
        START_LIMIT, () -> StateFiles.sandboxesFor(root, UNIX_ADDRESS), found -> found.size() == UNIX_SANDBOXES,
        processes::logs);

    // The servers may not listen yet: curl failing to connect means "not yet" here.
    String tcpOutput = Await.until("the TCP server exports every one of its sandboxes", START_LIMIT,
        () -> tryCurl("http://" + tcpAddress + "/metrics"),
        r -> r.exitCode() == 0 && exportedSandboxes(r.stdoutText()).equals(tcpSandboxes.keySet()),
        processes::logs).stdoutText();
    Await.until("the Unix socket server exports every one of its sandboxes", START_LIMIT,
        () -> tryCurl("--unix-socket", socket.toString(), "http://localhost/metrics"),
        r -> r.exitCode() == 0 && exportedSandboxes(r.stdoutText()).equals(unixSandboxes.keySet()),
        processes::logs);

    unfiltered = Exposition.parse(tcpOutput);
    chooseFilter();

    // socat's documented bridge: TCP in another context (here only another port) to the Unix socket.
    int socatPort = FreePort.onLoopback();
    processes.start("socat", List.of(socat.toString(),
        "TCP-LISTEN:" + socatPort + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + socket));
    Await.until("socat listens on 127.0.0.1:" + socatPort, START_LIMIT, () -> {
      try (Socket probe = new Socket()) {
        probe.connect(new InetSocketAddress("127.0.0.1", socatPort), 1000);
        return true;
      }
    }, connected -> connected, processes::logs);

    prometheus = PrometheusServer.start(processes, Files.createDirectory(work.resolve("prometheus")),
        prometheusConfig(socatPort));
    prometheus.awaitReady(processes);
  }

  /**
   * A filter for the filter jobs, taken from the sandbox metrics actually served, like {@code fs_.*} in
   * runsc's guide: the first name segment whose filter keeps some sandbox families but not all, so the
   * test can tell filtered from unfiltered. Families are compared without the prefix, because the sandboxes
   * apply the filter before the prefix is added, as an unanchored search.
   */
  private void chooseFilter() {
    Set<String> families = unfiltered.sandboxFamilies(PREFIX);
    assertThat(families).as("sandbox metric families in the TCP server's output").isNotEmpty();
    for (String family : families) {
      String unprefixed = family.substring(PREFIX.length());
      String candidate = unprefixed.split("_")[0] + "_.*";
      Pattern pattern = Pattern.compile(candidate);
      Set<String> matching = families.stream()
          .filter(f -> pattern.matcher(f.substring(PREFIX.length())).find())
          .collect(Collectors.toCollection(TreeSet::new));
      if (!matching.isEmpty() && matching.size() < families.size()) {
        filter = candidate;
        familiesMatchingFilter = matching;
        return;
      }
    }
    throw new AssertionError("no name-prefix filter separates the sandbox metric families " + families);
  }

  private String prometheusConfig(int socatPort) {
    // Scrape every 2 s: several scrapes (and so a rate) within seconds, with room for a busy machine.
    return String.join("\n",
        "global:",
        "  scrape_interval: 2s",
        "  scrape_timeout: 2s",
        "scrape_configs:",
        "  - job_name: tcp",
        "    static_configs: [{targets: ['" + tcpAddress + "']}]",
        "  - job_name: socat",
        "    static_configs: [{targets: ['127.0.0.1:" + socatPort + "']}]",
        // Prometheus sends this path as /metrics%3Frunsc-sandbox-metrics-filter=...: the form under test.
        "  - job_name: filter-in-path",
        "    metrics_path: '/metrics?runsc-sandbox-metrics-filter=" + filter + "'",
        "    static_configs: [{targets: ['" + tcpAddress + "']}]",
        "  - job_name: filter-as-param",
        "    params: {runsc-sandbox-metrics-filter: ['" + filter + "']}",
        "    static_configs: [{targets: ['" + tcpAddress + "']}]",
        "");
  }

  @AfterAll
  void stopEverything() throws IOException {
    try {
      for (ChildProcess server : servers) {
        System.out.println("e2e: " + server + " " + memoryOf(server.pid()));
      }
    } finally {
      if (processes != null) {
        processes.close();
      }
      if (work != null) {
        deleteRecursively(work);
      }
    }
  }

  @Test
  void curlFetchesMetricsOverTheUnixSocket() {
    Command.Result result = curl("--unix-socket", socket.toString(), "http://localhost/metrics");

    String body = result.stdoutText();
    assertThat(body).startsWith(
        "# Data for runsc metric server exporting data for sandboxes in root directory " + root);
    assertThat(body).endsWith("# End of metric data.\n");
    assertThat(exportedSandboxes(body)).isEqualTo(unixSandboxes.keySet());
  }

  @Test
  void curlCompressedGetsGzipOverTcpAndOverTheUnixSocket() throws IOException {
    for (List<String> target : List.of(
        List.of("http://" + tcpAddress + "/metrics"),
        List.of("--unix-socket", socket.toString(), "http://localhost/metrics"))) {
      Path headers = Files.createTempFile(work, "headers", ".txt");
      List<String> args = new ArrayList<>(List.of("--compressed", "--dump-header", headers.toString()));
      args.addAll(target);

      Command.Result result = curl(args.toArray(String[]::new));

      assertThat(Files.readAllLines(headers)).as("response headers to curl %s", target)
          .anyMatch(h -> h.toLowerCase().replace(" ", "").startsWith("content-encoding:gzip"));
      assertThat(result.stdoutText()).as("the body curl decompressed").endsWith("# End of metric data.\n");
    }
  }

  @Test
  void prometheusReadsEverySampleOfAGzipBodyCompressedInParts() throws IOException {
    byte[] gzipped = curl("--header", "Accept-Encoding: gzip", "http://" + tcpAddress + "/metrics").stdout();
    assertThat(Arrays.copyOf(gzipped, 2)).as("gzip magic").containsExactly(0x1f, 0x8b);
    // Parts end in a sync flush, an empty stored block: 00 00 ff ff.
    assertThat(syncFlushes(gzipped)).as("part boundaries in the gzip body").isGreaterThanOrEqualTo(3);
    String text = new String(new GZIPInputStream(new ByteArrayInputStream(gzipped)).readAllBytes(),
        StandardCharsets.UTF_8);
    assertThat(text).endsWith("# End of metric data.\n");

    // Prometheus always asks for gzip: it must have stored as many samples per scrape as a plain body has.
    Await.until("Prometheus' scrape_samples_scraped of the TCP job equals the samples of a plain body",
        SCRAPE_LIMIT, () -> {
          long plainSamples = sampleLines(curl("http://" + tcpAddress + "/metrics").stdoutText());
          List<Sample> scraped = prometheus.query("scrape_samples_scraped{job='tcp'}");
          return scraped.size() == 1 && scraped.get(0).value() == plainSamples && plainSamples > 100;
        }, equal -> equal, () -> prometheus.targets() + processes.logs());
    assertThat(value("up{job='tcp'}")).isEqualTo(1);
  }

  @Test
  void withoutAcceptEncodingTheBodyIsPlainText() throws IOException {
    Path headers = Files.createTempFile(work, "headers", ".txt");

    Command.Result result = curl("--dump-header", headers.toString(), "http://" + tcpAddress + "/metrics");

    assertThat(Files.readAllLines(headers)).noneMatch(h -> h.toLowerCase().startsWith("content-encoding"));
    assertThat(result.stdoutText()).startsWith("# Data for runsc metric server");
  }

  @Test
  void promtoolParsesTheOutputAndRemarksOnlyOnNamesInheritedFromRunsc() {
    byte[] output = curl("http://" + tcpAddress + "/metrics").stdout();
    Exposition exposition = Exposition.parse(new String(output, StandardCharsets.UTF_8));

    Command.Result lint = Command.run(List.of(promtool.toString(), "check", "metrics"), output, 60);

    // promtool exits 0 when it has nothing to say, 3 for lint remarks only, 1 when it cannot parse.
    assertThat(lint.exitCode()).as("promtool check metrics: %s\n%s", lint, lint.stdoutText()).isIn(0, 3);
    Set<String> sandboxFamilies = exposition.sandboxFamilies(PREFIX);
    Map<String, List<String>> inherited = new TreeMap<>();
    List<String> ours = new ArrayList<>();
    for (String line : (lint.stdoutText() + "\n" + lint.stderr()).split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String name = line.split(" ", 2)[0];
      String family = exposition.familyOf(name);
      if (sandboxFamilies.contains(family)) {
        inherited.computeIfAbsent("from gVisor's metric names and histogram format", k -> new ArrayList<>()).add(line);
      } else if (isRunscMetaMetric(name)) {
        inherited.computeIfAbsent("from runsc's meta metric names", k -> new ArrayList<>()).add(line);
      } else {
        ours.add(line);
      }
    }
    inherited.forEach((why, lines) -> {
      System.out.println("promtool remarks " + why + " (" + lines.size() + "):");
      lines.forEach(l -> System.out.println("  " + l));
    });

    assertThat(ours).as("promtool remarks about names we chose ourselves").isEmpty();
  }

  private static boolean isRunscMetaMetric(String name) {
    if (name.equals("process_start_time_seconds")) {
      return true;
    }
    String meta = PREFIX + "meta_";
    return name.startsWith(meta) && RUNSC_META_METRICS.contains(name.substring(meta.length()));
  }

  @Test
  void prometheusScrapesEverySandboxOverTcpWithItsLabels() {
    assertJobServesSandboxesWithTheirLabels("tcp", tcpSandboxes);
  }

  @Test
  void prometheusScrapesTheUnixSocketThroughSocat() {
    assertJobServesSandboxesWithTheirLabels("socat", unixSandboxes);
  }

  private void assertJobServesSandboxesWithTheirLabels(String job, Map<String, Sandbox> sandboxes) {
    assertThat(sandboxes.values()).as("the simulator registers pod names, so pod_name can be checked")
        .anyMatch(s -> !s.podName().isEmpty() && !s.namespace().isEmpty());
    List<Sample> series = awaitQuery(
        "count by (sandbox, iteration, pod_name, namespace_name) ({job='" + job + "', sandbox!='', __name__!~'"
            + PREFIX + "meta_.*'})",
        result -> sandboxesIn(result).equals(sandboxes.keySet()));

    assertThat(series).as("one label set per sandbox").hasSize(sandboxes.size());
    for (Sample sample : series) {
      Sandbox sandbox = sandboxes.get(sample.label("sandbox"));
      assertThat(sample.label("iteration")).as("iteration of %s", sandbox.id()).isNotBlank();
      assertThat(sample.label("pod_name")).as("pod_name of %s", sandbox.id()).isEqualTo(blankToNull(sandbox.podName()));
      assertThat(sample.label("namespace_name")).as("namespace_name of %s", sandbox.id())
          .isEqualTo(blankToNull(sandbox.namespace()));
    }
    assertThat(value("max(" + PREFIX + "meta_num_sandboxes_running{job='" + job + "'})"))
        .isEqualTo(sandboxes.size());
  }

  @Test
  void prometheusStoresTheSandboxesHistograms() {
    Set<String> histograms = unfiltered.typeByFamily().entrySet().stream()
        .filter(e -> e.getValue().equals("histogram") && unfiltered.sandboxFamilies(PREFIX).contains(e.getKey()))
        .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
    assertThat(histograms).as("histogram families in the output").isNotEmpty();

    List<Sample> buckets = awaitQuery(
        "{job='tcp', sandbox!='', __name__=~'(" + String.join("|", histograms) + ")_bucket'}",
        result -> !result.isEmpty());

    assertThat(buckets).allSatisfy(b -> assertThat(b.label("le")).isNotNull());
    assertThat(buckets).anyMatch(b -> "+Inf".equals(b.label("le")));
    String family = buckets.get(0).label("__name__").replaceFirst("_bucket$", "");
    assertThat(value("count(" + family + "_count{job='tcp'})")).isPositive();
    assertThat(value("count(" + family + "_sum{job='tcp'})")).isPositive();
  }

  @Test
  void prometheusStoresTheMetaMetrics() {
    String job = "{job='tcp'}";
    List<Sample> presence = awaitQuery(PREFIX + "meta_sandbox_presence" + job,
        result -> sandboxesIn(result).equals(tcpSandboxes.keySet()));

    assertThat(presence).allSatisfy(s -> assertThat(s.value()).isEqualTo(1));
    assertThat(sandboxesIn(query(PREFIX + "meta_sandbox_running" + job + " == 1"))).isEqualTo(tcpSandboxes.keySet());
    assertThat(sandboxesIn(query(PREFIX + "meta_sandbox_metadata" + job))).isEqualTo(tcpSandboxes.keySet());
    assertThat(sandboxesIn(query(PREFIX + "meta_sandbox_creation_time_seconds" + job)))
        .isEqualTo(tcpSandboxes.keySet());
    assertThat(value(PREFIX + "meta_metric_server_presence" + job)).isEqualTo(1);
    assertThat(value(PREFIX + "meta_num_sandboxes_running" + job)).isEqualTo(TCP_SANDBOXES);
    assertThat(value(PREFIX + "meta_num_sandboxes_broken_metrics" + job)).isZero();
    assertThat(value(PREFIX + "meta_num_sandboxes_total" + job)).isGreaterThanOrEqualTo(TCP_SANDBOXES);
    double started = value("process_start_time_seconds" + job);
    assertThat(started).isPositive().isLessThanOrEqualTo(System.currentTimeMillis() / 1000.0);
  }

  @Test
  void rateOfASandboxCounterIsPositive() throws Exception {
    Set<String> counters = unfiltered.typeByFamily().entrySet().stream()
        .filter(e -> e.getValue().equals("counter") && unfiltered.sandboxFamilies(PREFIX).contains(e.getKey()))
        .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
    assertThat(counters).as("counter families among the sandbox metrics").isNotEmpty();

    // rate() needs at least two scrapes of a counter that grew in between. It drops the metric name, so
    // one query for all counters would mix series of different counters: ask counter by counter.
    String rising = Await.until("a sandbox counter has a positive rate() in Prometheus", SCRAPE_LIMIT,
        () -> counters.stream().filter(c -> !query("rate(" + c + "{job='tcp'}[20s]) > 0").isEmpty())
            .findFirst().orElse(null),
        name -> name != null, () -> prometheus.targets() + processes.logs());

    assertThat(prometheus.metricTypes().get(rising)).as("the type Prometheus learned for %s", rising)
        .isEqualTo("counter");
  }

  @Test
  void filterInMetricsPathKeepsOnlyMatchingSandboxMetrics() throws Exception {
    assertThat(prometheus.scrapeUrls("filter-in-path")).as("what Prometheus makes of a '?' in metrics_path")
        .singleElement().asString().contains("/metrics%3Frunsc-sandbox-metrics-filter=");

    assertFilterJobKeepsOnlyMatchingSandboxMetrics("filter-in-path");
  }

  @Test
  void filterAsPrometheusParamKeepsOnlyMatchingSandboxMetrics() {
    assertFilterJobKeepsOnlyMatchingSandboxMetrics("filter-as-param");
  }

  private void assertFilterJobKeepsOnlyMatchingSandboxMetrics(String job) {
    awaitQuery(PREFIX + "meta_sandbox_presence{job='" + job + "'}",
        result -> sandboxesIn(result).equals(tcpSandboxes.keySet()));
    List<Sample> series = awaitQuery(
        "count by (__name__) ({job='" + job + "', sandbox!='', __name__!~'" + PREFIX + "meta_.*'})",
        result -> !result.isEmpty());

    Set<String> families = series.stream().map(s -> unfiltered.familyOf(s.label("__name__")))
        .collect(Collectors.toCollection(TreeSet::new));
    Pattern sandboxSide = Pattern.compile(filter);
    assertThat(families).as("sandbox metric families scraped with filter %s", filter)
        .allMatch(f -> sandboxSide.matcher(f.substring(PREFIX.length())).find())
        .containsAnyElementsOf(familiesMatchingFilter);
  }

  // ---- helpers ----

  private static long sampleLines(String exposition) {
    return exposition.lines().filter(l -> !l.isEmpty() && !l.startsWith("#")).count();
  }

  private static int syncFlushes(byte[] body) {
    int n = 0;
    for (int i = 0; i + 3 < body.length; i++) {
      if (body[i] == 0 && body[i + 1] == 0 && body[i + 2] == (byte) 0xff && body[i + 3] == (byte) 0xff) {
        n++;
      }
    }
    return n;
  }

  /** Runs curl, which must succeed. */
  private Command.Result curl(String... args) {
    Command.Result result = tryCurl(args);
    if (result.exitCode() != 0) {
      throw new AssertionError(result + (processes != null ? processes.logs() : ""));
    }
    return result;
  }

  /** Runs curl and returns whatever happened, for polling. {@code --fail}: an HTTP error is a non-zero exit. */
  private Command.Result tryCurl(String... args) {
    List<String> command = new ArrayList<>(List.of(curl.toString(), "--silent", "--show-error", "--fail",
        "--max-time", String.valueOf(CURL_LIMIT_SECONDS)));
    command.addAll(Arrays.asList(args));
    return Command.run(command, null, CURL_LIMIT_SECONDS + 5);
  }

  /** The sandboxes whose export succeeded: the server writes their metadata line only then. */
  private static Set<String> exportedSandboxes(String exposition) {
    String metadata = PREFIX + "meta_sandbox_metadata{";
    return exposition.lines().filter(l -> l.startsWith(metadata))
        .map(l -> Exposition.labels(l, l.indexOf('{')).get("sandbox"))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<String> sandboxesIn(List<Sample> samples) {
    return samples.stream().map(s -> s.label("sandbox")).collect(Collectors.toCollection(TreeSet::new));
  }

  private List<Sample> awaitQuery(String promql, java.util.function.Predicate<List<Sample>> done) {
    return Await.until("Prometheus answers " + promql + " as expected", SCRAPE_LIMIT, () -> prometheus.query(promql),
        done, () -> prometheus.targets() + processes.logs());
  }

  private List<Sample> query(String promql) {
    try {
      return prometheus.query(promql);
    } catch (IOException e) {
      throw new AssertionError("query " + promql, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: query " + promql, e);
    }
  }

  /** The value of a query that must give exactly one series. */
  private double value(String promql) {
    List<Sample> result = awaitQuery(promql, r -> r.size() == 1);
    return result.get(0).value();
  }

  private static String blankToNull(String text) {
    return text.isEmpty() ? null : text;
  }

  /** VmHWM and VmRSS of a process, for the report on the server's footprint. */
  private static String memoryOf(long pid) {
    try {
      return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
          .filter(l -> l.startsWith("VmHWM") || l.startsWith("VmRSS"))
          .map(l -> l.replaceAll("\\s+", " ")).collect(Collectors.joining(", "));
    } catch (IOException e) {
      return "(memory unknown: " + e + ")";
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
