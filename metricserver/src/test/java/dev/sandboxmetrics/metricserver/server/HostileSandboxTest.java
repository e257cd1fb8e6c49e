package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.metaValue;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sandboxes that attack the real server through their replies cannot cost the healthy ones their data. */
@Timeout(120)
class HostileSandboxTest {
  @TempDir Path tmp;

  @Test
  void oversizedRepliesAreCutAtTheLimitWhileHealthySandboxesAreServed() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, "127.0.0.1:0")) {
      List<String> healthy = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        healthy.add("healthy-" + i);
        sim.createRunning(SandboxSpec.builder("healthy-" + i).build());
      }
      for (int i = 0; i < 4; i++) {
        // 128 MiB each, streamed: the server must give up at 1 MiB, within a 4 MiB budget for all.
        sim.createRunning(SandboxSpec.builder("huge-" + i).fault(Fault.OVERSIZED).oversizedBytes(128L << 20).build());
      }
      MetricServerOptions options = MetricServerOptions.of(root.toString(), "127.0.0.1:0")
          .withMaxReplyBytes(1 << 20)
          .withMaxReplyBytesInFlight(4L << 20)
          .withSandboxTimeout(Duration.ofSeconds(10));
      try (MetricServer server = MetricServer.start(options)) {
        for (int scrape = 0; scrape < 3; scrape++) {
          RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
          assertThat(r.status()).isEqualTo(200);
          assertThat(sandboxesWithData(r.text(), "runsc_")).as("scrape %d", scrape).isEqualTo(healthy);
          assertThat(metaValue(r.text(), "num_sandboxes_broken_metrics")).isEqualTo("4");
        }
      }
    }
  }

  @Test
  void stalledSandboxesDoNotStarveHealthyOnesOfTheirTurn() throws Exception {
    // Scaled down from 1,100 stalled + 20 healthy at 256 parallel queries and 8 s / 30 s: 200 stalled at 64
    // parallel queries and 5 s / 6 s. Holding a slot for the whole 5 s, the stalled ones would leave time
    // for about 100 of the 220 sandboxes, so healthy ones drawn late would miss every scrape.
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, "127.0.0.1:0")) {
      List<String> healthy = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        healthy.add(String.format("healthy-%02d", i));
        sim.createRunning(SandboxSpec.builder(healthy.get(i)).build());
      }
      for (int i = 0; i < 200; i++) {
        sim.createRunning(SandboxSpec.builder(String.format("stalled-%03d", i)).fault(Fault.STALL).build());
      }
      MetricServerOptions options = MetricServerOptions.of(root.toString(), "127.0.0.1:0")
          .withMaxParallelQueries(64)
          .withSandboxTimeout(Duration.ofSeconds(5))
          .withExportTimeout(Duration.ofSeconds(6));
      try (MetricServer server = MetricServer.start(options)) {
        for (int scrape = 0; scrape < 2; scrape++) {
          RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
          assertThat(r.status()).isEqualTo(200);
          assertThat(sandboxesWithData(r.text(), "runsc_")).as("scrape %d", scrape).isEqualTo(healthy);
        }
      }
    }
  }

  @Test
  void aSandboxWhoseRegistrationAllowsTooManySeriesIsBrokenWithTheReason() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, "127.0.0.1:0")) {
      sim.createRunning(SandboxSpec.builder("wide").build());
      // The realistic registration allows a few hundred series; a cap below it makes the sandbox too wide.
      MetricServerOptions capped = MetricServerOptions.of(root.toString(), "127.0.0.1:0").withMaxSeriesPerSandbox(10);
      try (MetricServer server = MetricServer.start(capped)) {
        RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(sandboxesWithData(r.text(), "runsc_")).isEmpty();
        assertThat(metaValue(r.text(), "num_sandboxes_broken_metrics")).isEqualTo("1");
      }
      try (MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), "127.0.0.1:0"))) {
        RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
        assertThat(sandboxesWithData(r.text(), "runsc_")).containsExactly("wide");
      }
    }
  }
}
