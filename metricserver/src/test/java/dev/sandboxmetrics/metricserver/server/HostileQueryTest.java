package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regular expressions in a query are a client's input: the real server refuses the ones Go's regexp refuses
 * (and programs too large to match quickly) with a 400 that says why, and keeps serving.
 */
@Timeout(60)
class HostileQueryTest {
  @TempDir Path tmp;

  @Test
  void regexBombsInEitherFilterGet400WithTheReasonAndTheServerKeepsServing() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, "127.0.0.1:0")) {
      sim.createRunning(SandboxSpec.builder("s1").build());
      try (MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), "127.0.0.1:0"))) {
        String bomb = URLEncoder.encode("((a{1000}){1000}){3}", StandardCharsets.UTF_8);
        String large = URLEncoder.encode("(?:" + "a{1000}|".repeat(29) + "a{1000})", StandardCharsets.UTF_8);
        for (String param : new String[] {"runsc-sandbox-metrics-filter", "runsc-capability-filter"}) {
          RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics?" + param + "=" + bomb);
          assertThat(r.status()).as(param).isEqualTo(400);
          assertThat(r.text()).as(param).contains("invalid repeat count");
          RawHttp.Response l = RawHttp.get(server.tcpAddress(), "/metrics?" + param + "=" + large);
          assertThat(l.status()).as(param).isEqualTo(400);
          assertThat(l.text()).as(param).contains("expression too large");
        }
        RawHttp.Response ok = RawHttp.get(server.tcpAddress(), "/metrics");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(sandboxesWithData(ok.text(), "runsc_")).containsExactly("s1");
      }
    }
  }
}
