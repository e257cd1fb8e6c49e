package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged {@code metric-server} as a runsc user runs it: their flags, signals, files, exit codes. */
@Timeout(120)
class MetricServerIT {
  private static final Duration START = Duration.ofSeconds(60);

  @TempDir Path tmp;

  @Test
  void servesSimulatedSandboxesOnAUnixSocketAndCleansUpOnSigterm() throws Exception {
    Path root = tmp.resolve("root");
    Path socket = tmp.resolve("metrics.sock");
    Path pidFile = tmp.resolve("metric-server.pid");
    try (Simulator sim = Simulator.start(root, socket.toString())) {
      sim.createRunning(SandboxSpec.builder("web").podName("web-0").namespace("shop").build());
      sim.createRunning(SandboxSpec.builder("stuck").fault(Fault.STALL).build());
      try (Launched server = Launched.start(
          "--root=" + root, "--metric-server=" + socket, "metric-server",
          "--pid-file=" + pidFile, "--sandbox-timeout=1s")) {
        server.awaitFile(pidFile, START);
        assertThat(Files.readString(pidFile)).isEqualTo(Long.toString(server.process.pid()));

        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        String metrics = Launched.get(address, "/metrics");
        assertThat(Launched.status(metrics)).isEqualTo(200);
        assertThat(Launched.body(metrics))
            .startsWith("# Data for runsc metric server exporting data for sandboxes in root directory " + root)
            .contains("runsc_fs_opens{")
            .contains("pod_name=\"web-0\",sandbox=\"web\"")
            .contains("\nrunsc_meta_num_sandboxes_running 2 ")
            .contains("\nrunsc_meta_num_sandboxes_broken_metrics 1 ");
        assertThat(Launched.body(Launched.get(address, "/runsc-metrics/healthcheck?root=" + root)))
            .startsWith("runsc-metrics:OK");
        assertThat(Launched.body(Launched.get(address, "/runsc-metrics/pid")))
            .isEqualTo(Long.toString(server.process.pid()));

        server.terminate();
        assertThat(server.exitCode(Duration.ofSeconds(30))).isZero();
        assertThat(socket).doesNotExist();
        assertThat(pidFile).doesNotExist();
        assertThat(String.join("\n", server.stderr)).contains("Could not export metrics from sandbox stuck");
      }
    }
  }

  /**
   * A script's background job (and {@code trap '' INT}) starts the server with SIGINT ignored; runsc (Go's
   * signal.Notify) handles it all the same, so ours must too: it stops cleanly, removing socket and PID file.
   */
  @Test
  void sigintInheritedAsIgnoredStillStopsTheServer() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    String[] scripts = {
      "trap '' INT; exec \"$0\" \"$@\"",
      "\"$0\" \"$@\" & wait $!", // bash ignores SIGINT in a non-interactive background job
    };
    for (int i = 0; i < scripts.length; i++) {
      Path socket = tmp.resolve("m" + i + ".sock");
      Path pidFile = tmp.resolve("pid" + i);
      try (Launched server = Launched.startFromBash(scripts[i],
          "--root=" + root, "--metric-server=" + socket, "metric-server", "--pid-file=" + pidFile)) {
        server.awaitFile(pidFile, START);
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        String ignored = sigIgn(pid);
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
        assertThat(server.exitCode(Duration.ofSeconds(30))).as(scripts[i] + "; SigIgn " + ignored).isZero();
        assertThat(String.join("\n", server.stderr)).contains("Received SIGINT, shutting down server.");
        assertThat(socket).doesNotExist();
        assertThat(pidFile).doesNotExist();
      }
    }
  }

  /** The ignored-signal mask of a process, for the failure message. */
  private static String sigIgn(long pid) throws java.io.IOException {
    return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
        .filter(l -> l.startsWith("SigIgn:")).findFirst().orElse("?");
  }

  @Test
  void goStyleFlagsOfRunscWorkAndTcpServes() throws Exception {
    Path root = tmp.resolve("root");
    String address = "127.0.0.1:" + Launched.freePort();
    Path pidFile = tmp.resolve("pid");
    try (Simulator sim = Simulator.start(root, address)) {
      sim.createRunning(SandboxSpec.builder("s1").build());
      try (Launched server = Launched.start(
          "-root", root.toString(), "-metric-server=" + address, "metric-server",
          "-exporter-prefix=gvisor_", "-pid-file", pidFile.toString())) {
        server.awaitFile(pidFile, START);
        String[] hostPort = address.split(":");
        String body = Launched.body(
            Launched.get(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])), "/metrics"));
        assertThat(body).contains("\ngvisor_fs_opens{").contains("\ngvisor_meta_sandbox_presence{");
        server.terminate();
        assertThat(server.exitCode(Duration.ofSeconds(30))).isZero();
      }
    }
  }

  @Test
  void missingRootIsARuntimeFailureAndMissingAddressAUsageError() throws Exception {
    try (Launched noRoot = Launched.start(
        "--root=" + tmp.resolve("nope"), "--metric-server=127.0.0.1:0", "metric-server")) {
      assertThat(noRoot.exitCode(START)).isEqualTo(1);
      assertThat(String.join("\n", noRoot.stderr)).contains("invalid root directory");
    }
    try (Launched noAddress = Launched.start("--root=" + tmp, "metric-server")) {
      assertThat(noAddress.exitCode(START)).isEqualTo(2);
      assertThat(String.join("\n", noAddress.stderr)).contains("--metric-server");
    }
  }

  @Test
  void liveSocketOfAnotherServerIsAddressInUse() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path socket = tmp.resolve("taken.sock");
    try (java.nio.channels.ServerSocketChannel other =
        java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));
      try (Launched server = Launched.start("--root=" + root, "--metric-server=" + socket, "metric-server")) {
        assertThat(server.exitCode(START)).isEqualTo(1);
        assertThat(String.join("\n", server.stderr)).contains("address in use");
      }
      assertThat(socket).exists();
    }
  }

  @Test
  void runscsOtherGlobalFlagsCanStayInTheCommandLine() throws Exception {
    Path root = tmp.resolve("root");
    Path socket = tmp.resolve("m.sock");
    Path pidFile = tmp.resolve("pid");
    try (Simulator sim = Simulator.start(root, socket.toString())) {
      sim.createRunning(SandboxSpec.builder("s1").build());
      try (Launched server = Launched.start(
          "--root", root.toString(), "--platform", "kvm", "-network=host", "--systemd-cgroup", "-alsologtostderr",
          "--log-format", "json", "--metric-server", socket.toString(), "metric-server", "--pid-file", pidFile.toString())) {
        server.awaitFile(pidFile, START);
        String body = Launched.body(Launched.get(UnixDomainSocketAddress.of(socket), "/metrics"));
        assertThat(body).contains("\nrunsc_fs_opens{");
        server.terminate();
        assertThat(server.exitCode(Duration.ofSeconds(30))).isZero();
      }
    }
  }
}
