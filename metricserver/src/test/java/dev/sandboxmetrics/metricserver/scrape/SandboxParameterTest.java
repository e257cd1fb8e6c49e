package dev.sandboxmetrics.metricserver.scrape;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.metaValue;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithMeta;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics?sandbox=ID}: one or a few sandboxes, queried alone, with and without the filters. */
@Timeout(120)
class SandboxParameterTest {
  private static final String TCP = "127.0.0.1:0";

  @TempDir Path tmp;
  private Simulator sim;
  private MetricServer server;

  @BeforeEach
  void start() throws Exception {
    Path root = tmp.resolve("root");
    sim = Simulator.start(root, TCP);
    for (String id : new String[] {"a", "b", "c"}) {
      sim.createRunning(SandboxSpec.builder(id).build());
    }
    // A sandbox that never answers: asked, it would cost a timeout and count as broken.
    sim.createRunning(SandboxSpec.builder("stalled").fault(Fault.STALL).build());
    server = MetricServer.start(
        MetricServerOptions.of(root.toString(), TCP).withSandboxTimeout(Duration.ofSeconds(5)));
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private String scrape(String query) throws IOException {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics" + query);
    assertThat(r.status()).as("status of /metrics%s: %s", query, r.text()).isEqualTo(200);
    return r.text();
  }

  @Test
  void oneSandboxOnlyItsSeriesAndItsMetaLines() throws Exception {
    String text = scrape("?sandbox=b");

    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("b");
    assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("b");
    assertThat(metaValue(text, "num_sandboxes_running")).isEqualTo("1");
    assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
    assertThat(metaValue(text, "metric_server_presence")).isEqualTo("1");
    assertThat(text).contains("\nprocess_start_time_seconds ").endsWith("# End of metric data.\n");
  }

  @Test
  void onlyTheNamedSandboxesAreQueried() throws Exception {
    scrape("?sandbox=a&sandbox=c");

    JsonNode rows = new ObjectMapper().readTree(RawHttp.get(server.tcpAddress(), "/sandboxes?format=json").body())
        .get("sandboxes");
    for (JsonNode row : rows) {
      String id = row.get("id").asText();
      boolean asked = id.equals("a") || id.equals("c");
      assertThat(row.get("last_queried").isNull()).as("%s not queried", id).isEqualTo(!asked);
    }
    assertThat(sim.sandbox("stalled").openConnections()).isZero();
  }

  @Test
  void repeatedParameterAndUnknownIds() throws Exception {
    assertThat(sandboxesWithData(scrape("?sandbox=a&sandbox=c&sandbox=nope"), "runsc_")).containsExactly("a", "c");

    String none = scrape("?sandbox=nope");
    assertThat(sandboxesWithData(none, "runsc_")).isEmpty();
    assertThat(sandboxesWithMeta(none, "sandbox_presence")).isEmpty();
    assertThat(metaValue(none, "num_sandboxes_running")).isEqualTo("0");
    // Exact IDs: neither a prefix nor a regular expression selects anything.
    assertThat(sandboxesWithData(scrape("?sandbox=stall"), "runsc_")).isEmpty();
    assertThat(sandboxesWithData(scrape("?sandbox=.*"), "runsc_")).isEmpty();
  }

  @Test
  void combinesWithBothFiltersAlsoInPrometheusEscapedForm() throws Exception {
    String text = scrape("?sandbox=a&runsc-sandbox-metrics-filter=%5Efs_&runsc-capability-filter=CHOWN");

    assertThat(sandboxesWithData(text, "runsc_")).containsExactly("a");
    assertThat(sandboxFamilies(text)).isNotEmpty().allMatch(f -> f.startsWith("runsc_fs_"));
    assertThat(text).contains("runsc_meta_sandbox_capabilities{capability=\"CHOWN\",")
        .doesNotContain("capability=\"KILL\"");

    RawHttp.Response escaped = RawHttp.get(server.tcpAddress(), "/metrics%3Fsandbox=c%26runsc-sandbox-metrics-filter=%5Efs_");
    assertThat(escaped.status()).isEqualTo(200);
    assertThat(sandboxesWithData(escaped.text(), "runsc_")).containsExactly("c");
    assertThat(sandboxFamilies(escaped.text())).allMatch(f -> f.startsWith("runsc_fs_"));
  }

  /** Families of sandbox series (prefixed, not meta). */
  private static Set<String> sandboxFamilies(String text) {
    Set<String> out = new TreeSet<>();
    for (String l : text.lines().toList()) {
      if (l.startsWith("runsc_") && !l.startsWith("runsc_meta_") && l.contains("sandbox=\"")) {
        out.add(l.substring(0, l.indexOf('{')));
      }
    }
    return out;
  }
}
