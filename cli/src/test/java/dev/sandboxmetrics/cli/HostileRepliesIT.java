package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oversized replies against the packaged server in its own JVM, with the heap the shipped container gives it
 * (128 MiB: 256 MiB at MaxRAMPercentage=50) and an exit on OutOfMemoryError: four sandboxes streaming 128 MiB
 * each at every scrape. With the old defaults (64 MiB replies read into doubling arrays) the four cost about
 * 400 MB and the JVM died; now each is cut at --max-reply-bytes within the --max-reply-bytes-in-flight budget,
 * and the healthy sandboxes are served at every scrape.
 */
@Timeout(180)
class HostileRepliesIT {
  @TempDir Path tmp;

  @Test
  void fourOversizedRepliesFitTheShippedHeapAndHealthySandboxesAreServed() throws Exception {
    Path root = tmp.resolve("root");
    Path socket = tmp.resolve("metrics.sock");
    Path pidFile = tmp.resolve("pid");
    try (Simulator sim = Simulator.start(root, socket.toString())) {
      for (int i = 0; i < 10; i++) {
        sim.createRunning(SandboxSpec.builder("healthy-" + i).build());
      }
      for (int i = 0; i < 4; i++) {
        sim.createRunning(SandboxSpec.builder("huge-" + i).fault(Fault.OVERSIZED).oversizedBytes(128L << 20).build());
      }
      Map<String, String> jvm = Map.of("SANDBOX_METRICS_JAVA_OPTS", "-Xmx128m -XX:+ExitOnOutOfMemoryError");
      try (Launched server = Launched.startWithEnv(jvm,
          "--root=" + root, "--metric-server=" + socket, "metric-server", "--pid-file=" + pidFile)) {
        server.awaitFile(pidFile, Duration.ofSeconds(60));
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        for (int scrape = 0; scrape < 3; scrape++) {
          String response = Launched.get(address, "/metrics");
          assertThat(Launched.status(response)).as("scrape %d; stderr %s", scrape, server.stderr).isEqualTo(200);
          String body = Launched.body(response);
          for (int i = 0; i < 10; i++) {
            assertThat(body).as("scrape %d", scrape).contains("sandbox=\"healthy-" + i + "\"} ");
          }
          assertThat(body).contains("\nrunsc_meta_num_sandboxes_broken_metrics 4 ");
        }
        assertThat(server.process.isAlive()).as("stderr: %s", server.stderr).isTrue();
        assertThat(String.join("\n", server.stderr)).contains("exceeds the maximum of 8388608 bytes")
            .doesNotContain("OutOfMemoryError");
        server.terminate();
        assertThat(server.exitCode(Duration.ofSeconds(30))).isZero();
      }
    }
  }
}
