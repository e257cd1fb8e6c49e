package dev.sandboxmetrics.metricserver.status;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.ServerFixture;
import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code /sandboxes} of a real metric server over real sockets, with simulated sandboxes in every state the
 * page knows: served, broken (with a hostile error text), stopped, locked, another server's, without
 * metrics, and a corrupt state file.
 */
@Timeout(120)
@SuppressWarnings("try") // resources held open for the duration of a block, not referenced in it
class StatusPageTest {
  private static final String TCP = "127.0.0.1:0";
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension final ServerFixture fixture = new ServerFixture();

  private Path root() {
    return fixture.root();
  }

  private MetricServer server() throws Exception {
    return fixture.server(fixture.options(TCP).withSandboxTimeout(Duration.ofMillis(1500)));
  }

  private static RawHttp.Response get(MetricServer server, String target, String... headers) throws IOException {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), target, headers);
    assertThat(r.status()).as("status of %s: %s", target, r.text()).isEqualTo(200);
    return r;
  }

  private static Map<String, JsonNode> rowsById(RawHttp.Response json) throws IOException {
    Map<String, JsonNode> rows = new TreeMap<>();
    for (JsonNode row : JSON.readTree(json.body()).get("sandboxes")) {
      rows.put(row.get("id").asText(), row);
    }
    return rows;
  }

  @Test
  void everySandboxInTheRootDirectoryHasARowThatSaysWhy() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox healthy =
        sim.createRunning(SandboxSpec.builder("healthy").podName("web-0").namespace("shop").build());
    sim.createRunning(SandboxSpec.builder("hostile").fault(Fault.HOSTILE_ERROR).build());
    sim.createRunning(SandboxSpec.builder("elsewhere").metricServerAddress("127.0.0.1:9").build());
    sim.createRunning(SandboxSpec.builder("quiet").noMetrics().build());
    sim.createRunning(SandboxSpec.builder("stopped").build()).stop();
    SimulatedSandbox busy = sim.createRunning(SandboxSpec.builder("busy").build());
    Files.writeString(root().resolve("corrupt_sandbox:corrupt.state"), "{\"id\": ");

    MetricServer server;
    try (Flock lock = Flock.lock(busy.lockFile())) {
      server = server(); // locked before the server's first scan
      // A scrape first, so that the served sandboxes have a query to show.
      get(server, "/metrics");
      Map<String, JsonNode> rows = rowsById(get(server, "/sandboxes", "Accept: application/json"));

      assertThat(rows.keySet()).containsExactly("busy", "corrupt", "elsewhere", "healthy", "hostile", "quiet", "stopped");
      JsonNode ok = rows.get("healthy");
      assertThat(ok.get("state").asText()).isEqualTo("served");
      assertThat(ok.get("pod_name").asText()).isEqualTo("web-0");
      assertThat(ok.get("namespace_name").asText()).isEqualTo("shop");
      assertThat(ok.get("pid").asLong()).isEqualTo(healthy.pid());
      assertThat(ok.get("iteration").asText()).isNotEmpty();
      assertThat(ok.get("error").asText()).isEmpty();
      assertThat(ok.get("series").asLong()).isPositive();
      assertThat(ok.get("reply_bytes").asLong()).isPositive();
      assertThat(ok.get("last_query_seconds").asDouble()).isPositive();
      assertThat(ok.get("last_served").asText()).isNotEmpty();
      assertThat(ok.get("trouble").asBoolean()).isFalse();

      JsonNode broken = rows.get("hostile");
      assertThat(broken.get("state").asText()).isEqualTo("broken");
      assertThat(broken.get("trouble").asBoolean()).isTrue();
      assertThat(broken.get("reason").asText()).isEqualTo("sandbox_error");
      assertThat(broken.get("error").asText()).contains(Fault.HOSTILE_ERROR_TEXT);
      assertThat(broken.get("last_served").isNull()).isTrue();

      assertThat(rows.get("elsewhere").get("state").asText()).isEqualTo("other metric server");
      assertThat(rows.get("elsewhere").get("error").asText()).contains("127.0.0.1:9");
      assertThat(rows.get("quiet").get("state").asText()).isEqualTo("no metrics");
      assertThat(rows.get("stopped").get("state").asText()).isEqualTo("not running");
      assertThat(rows.get("busy").get("state").asText()).isEqualTo("locked");
      assertThat(rows.get("corrupt").get("state").asText()).isEqualTo("unreadable state file");
      assertThat(rows.get("corrupt").get("error").asText()).contains("corrupt");
    }

    // Once unlocked, the next look serves it.
    Map<String, JsonNode> rows = rowsById(get(server, "/sandboxes?format=json"));
    assertThat(rows.get("busy").get("state").asText()).isEqualTo("served");
  }

  @Test
  void aSandboxThatStoppedWhileServedStillShowsWhenItWasLastServed() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    SimulatedSandbox sandbox = sim.createRunning(SandboxSpec.builder("s1").build());
    MetricServer server = server();
    get(server, "/metrics");
    String servedAt = rowsById(get(server, "/sandboxes?format=json")).get("s1").get("last_served").asText();

    sandbox.stop();
    JsonNode row = rowsById(get(server, "/sandboxes?format=json")).get("s1");

    assertThat(row.get("state").asText()).isEqualTo("not running");
    assertThat(row.get("error").asText()).isNotEmpty();
    assertThat(row.get("last_served").asText()).isEqualTo(servedAt);
    assertThat(row.get("series").asLong()).isPositive();
  }

  @Test
  void plainTextHasAlignedColumnsAndShowsControlCharactersEscaped() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    sim.createRunning(SandboxSpec.builder("a-long-sandbox-id").podName("pod\nwith\u001b[31mescape").build());
    sim.createRunning(SandboxSpec.builder("b").fault(Fault.ERROR).build());
    MetricServer server = server();
    get(server, "/metrics");

    RawHttp.Response r = get(server, "/sandboxes");

    assertThat(r.header("content-type")).startsWith("text/plain");
    List<String> lines = r.text().lines().toList();
    assertThat(lines.get(1)).isEqualTo("2 sandboxes: 1 served, 1 broken.");
    String header = lines.get(3);
    assertThat(header).startsWith("SANDBOX            POD");
    String rowA = lines.get(4);
    String rowB = lines.get(5);
    assertThat(rowA).startsWith("a-long-sandbox-id  pod\\nwith\\u001b[31mescape");
    assertThat(rowB).startsWith("b  ");
    // Every column starts at the same place in every line.
    for (String column : List.of("STATE", "LAST QUERY", "ERROR")) {
      int at = header.indexOf(column);
      assertThat(rowB.charAt(at - 1)).as("before column %s in %s", column, rowB).isEqualTo(' ');
      assertThat(rowB.charAt(at)).as("column %s in %s", column, rowB).isNotEqualTo(' ');
    }
    assertThat(rowB).contains("broken").contains("the sandbox failed Metrics.Export: simulated failure");
    assertThat(lines).hasSize(6);
  }

  @Test
  void htmlEscapesWhatSandboxesControlAndAllowsOnlyItsOwnScript() throws Exception {
    Simulator sim = fixture.simulator(TCP);
    sim.createRunning(SandboxSpec.builder("hostile").podName("<i>pod</i>").fault(Fault.HOSTILE_ERROR).build());
    sim.createRunning(SandboxSpec.builder("fine").build());
    MetricServer server = server();
    get(server, "/metrics");

    RawHttp.Response r = get(server, "/sandboxes",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");

    assertThat(r.header("content-type")).isEqualTo("text/html; charset=utf-8");
    assertThat(r.header("content-security-policy")).contains("default-src 'none'").contains("script-src 'sha256-");
    String html = r.text();
    assertThat(html).contains(StatusFormats.escape(Fault.HOSTILE_ERROR_TEXT));
    assertThat(html).contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;");
    assertThat(html).contains("&lt;i&gt;pod&lt;/i&gt;");
    assertThat(html).doesNotContain("<b id=injected>").doesNotContain("<img").doesNotContain("<i>");
    assertThat(html.split("<script>", -1)).as("script elements").hasSize(2);
    assertThat(html).contains("<tr class=\"trouble\" data-state=\"broken\">");
    assertThat(html).contains("<tr class=\"ok\" data-state=\"served\">");
  }

  @Test
  void formatFollowsAcceptAndTheFormatParameter() throws Exception {
    MetricServer server = serverWithEmptyRoot();

    assertThat(get(server, "/sandboxes", "Accept: */*").header("content-type")).startsWith("text/plain");
    assertThat(get(server, "/sandboxes").header("content-type")).startsWith("text/plain");
    assertThat(get(server, "/sandboxes", "Accept: application/json").header("content-type"))
        .isEqualTo("application/json");
    assertThat(get(server, "/sandboxes", "Accept: text/plain;q=0.5, text/html").header("content-type"))
        .startsWith("text/html");
    assertThat(get(server, "/sandboxes?format=text", "Accept: text/html").header("content-type"))
        .startsWith("text/plain");
    assertThat(JSON.readTree(get(server, "/sandboxes?format=json").body()).get("sandboxes").size()).isZero();
    assertThat(get(server, "/sandboxes?format=html").text()).contains("No sandboxes in the root directory.");
    assertThat(RawHttp.get(server.tcpAddress(), "/sandboxes?format=xml").status()).isEqualTo(400);
    assertThat(RawHttp.get(server.tcpAddress(), "/sandboxes?refresh=-1").status()).isEqualTo(400);
    assertThat(get(server, "/sandboxes?format=html&refresh=0").text()).contains("data-refresh=\"0\"");
  }

  @Test
  void indexPageLinksToTheStatusPage() throws Exception {
    MetricServer server = serverWithEmptyRoot();

    assertThat(get(server, "/").text()).contains("<a href=\"/sandboxes\">/sandboxes</a>");
  }

  private MetricServer serverWithEmptyRoot() throws Exception {
    Files.createDirectories(root());
    return server();
  }
}
