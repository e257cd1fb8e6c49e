package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code ./sandbox-metrics demo} as the README tells a newcomer to run it. */
@Timeout(120)
class DemoIT {
  @Test
  void demoServesItsSandboxesOnTcpAndUnixSocketAndCleansUp() throws Exception {
    int port = Launched.freePort();
    try (Launched demo = Launched.start("demo", "--sandboxes", "2", "--metric-server", "127.0.0.1:" + port)) {
      String first = demo.awaitStdout("simulated sandboxes in ", Duration.ofSeconds(60));
      Path root = Path.of(first.substring(first.indexOf(" in ") + 4).trim());
      demo.awaitStdout("Press Ctrl-C", Duration.ofSeconds(10));
      assertThat(String.join("\n", demo.stdout))
          .contains("curl -s http://127.0.0.1:" + port + "/metrics")
          .contains("curl -s --unix-socket " + root.resolve("metric-server.sock") + " http://localhost/metrics");

      String tcp = Launched.body(Launched.get(new InetSocketAddress("127.0.0.1", port), "/metrics"));
      assertThat(tcp).contains("sandbox=\"demo-1\"").contains("sandbox=\"demo-2\"")
          .contains("\nrunsc_meta_num_sandboxes_running 2 ");
      String unix = Launched.body(
          Launched.get(UnixDomainSocketAddress.of(root.resolve("metric-server.sock")), "/metrics"));
      assertThat(unix).contains("sandbox=\"demo-1\"");

      demo.terminate();
      assertThat(demo.exitCode(Duration.ofSeconds(30))).isZero();
      assertThat(root).doesNotExist();
    }
  }
}
