package dev.sandboxmetrics.metricserver.status;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each way a sandbox query fails, caused by a real simulated sandbox, lands in its own
 * {@link FailureReason}: on the status page and in the failure counter's {@code reason} label.
 */
@Timeout(120)
class FailureReasonTest {
  private static final String TCP = "127.0.0.1:0";

  @TempDir Path tmp;

  @Test
  void everyFailureOfASandboxQueryHasItsReason() throws Exception {
    Path root = tmp.resolve("root");
    Map<String, FailureReason> expected = new TreeMap<>(Map.of(
        "stall", FailureReason.TIMEOUT,
        "garbage", FailureReason.MALFORMED,
        "close", FailureReason.CLOSED,
        "truncated", FailureReason.MALFORMED, // a reply cut off is not a whole JSON value
        "error", FailureReason.SANDBOX_ERROR,
        "oversized", FailureReason.TOO_LARGE,
        "unknown-metric", FailureReason.VERIFIER_REJECTED,
        "no-socket", FailureReason.REFUSED));
    try (Simulator sim = Simulator.start(root, TCP);
        MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), TCP)
            .withSandboxTimeout(Duration.ofMillis(1500))
            .withMaxReplyBytes(1 << 20))) {
      for (String id : expected.keySet()) {
        Fault fault = id.equals("no-socket") ? Fault.NONE : Fault.parse(id);
        sim.createRunning(SandboxSpec.builder(id).fault(fault).oversizedBytes(4 << 20).build());
      }
      sim.createRunning(SandboxSpec.builder("ignorer").fault(Fault.IGNORE_FILTER).build());
      Files.delete(sim.sandbox("no-socket").controlSocket());

      assertThat(RawHttp.get(server.tcpAddress(), "/metrics").status()).isEqualTo(200);
      // ignore-filter shows only under a filter; this scrape asks it alone.
      String filtered = RawHttp.get(server.tcpAddress(),
          "/metrics?sandbox=ignorer&runsc-sandbox-metrics-filter=%5Efs_").text();

      JsonNode page = new ObjectMapper().readTree(RawHttp.get(server.tcpAddress(), "/sandboxes?format=json").body());
      Map<String, String> reasons = new TreeMap<>();
      for (JsonNode row : page.get("sandboxes")) {
        reasons.put(row.get("id").asText(), row.get("reason").asText());
      }
      expected.forEach((id, reason) ->
          assertThat(reasons.get(id)).as("reason of %s", id).isEqualTo(reason.label()));
      assertThat(reasons.get("ignorer")).isEqualTo(FailureReason.FILTER_IGNORED.label());

      String failures = "runsc_meta_sandbox_query_failures_total{reason=\"";
      assertThat(filtered).contains(failures + "closed\"} 1 ");
      assertThat(filtered).contains(failures + "timeout\"} 1 ");
      assertThat(filtered).contains(failures + "other\"} 0 ");
    }
  }

  @Test
  void everyKindTheCollectorNamesHasAReasonAndUnknownKindsAreOther() throws Exception {
    for (java.lang.reflect.Field kind : SandboxResult.Reason.class.getFields()) {
      String value = (String) kind.get(null);
      FailureReason reason = FailureReason.of(SandboxResult.failed(null, value, "x", true));
      assertThat(reason).as(value).isNotNull();
      if (!value.equals(SandboxResult.Reason.OTHER)) {
        assertThat(reason).as("kind %s", value).isNotEqualTo(FailureReason.OTHER);
      }
    }
    assertThat(FailureReason.of(SandboxResult.failed(null, "no_such_kind", "x", true))).isEqualTo(FailureReason.OTHER);
    assertThat(FailureReason.of(SandboxResult.ok(null, null, true))).isNull();
  }
}
