package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
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
   * Between scrapes (15-30 s apart with Prometheus) the server has nothing to do, and with the launcher's
   * options it sleeps: counted as the kernel counts voluntary context switches (a thread blocking again after
   * it woke up), all of its threads together made 3-9 in 5 idle seconds where they made ~42 before (Netty's
   * idle loops every second, the JVM's monitor deflation thread every 250 ms, its cleanup safepoint and heap
   * trimmer every second, pool threads timing out). README, Performance, "Between scrapes".
   *
   * <p>The count is kept per thread, by the kernel's name for it: Linux keeps the first 15 bytes of a thread's
   * name ({@code top -H}, {@code ps -L}, {@code /proc/PID/task/TID/comm}), and the event loops and the workers
   * must be told apart there, where long names all read {@code sandbox-metrics}.
   */
  @Test
  void anIdleServerBarelyWakesUpAndItsThreadsAreToldApart() throws Exception {
    Path root = tmp.resolve("root");
    Path socket = tmp.resolve("metrics.sock");
    Path pidFile = tmp.resolve("metric-server.pid");
    try (Simulator sim = Simulator.start(root, socket.toString())) {
      sim.createRunning(SandboxSpec.builder("a").build());
      sim.createRunning(SandboxSpec.builder("b").build());
      try (Launched server = Launched.start(
          "--root=" + root, "--metric-server=" + socket, "metric-server", "--pid-file=" + pidFile)) {
        server.awaitFile(pidFile, START);
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        for (int i = 0; i < 3; i++) {
          assertThat(Launched.status(Launched.get(address, "/metrics"))).isEqualTo(200);
        }
        Thread.sleep(2_000); // what the scrapes left to compile, and the connections' closing, settle

        Map<String, Long> before = voluntarySwitchesByThread(pid);
        // The scrapes used the event loops and started the workers.
        assertThat(before.keySet())
            .anyMatch(thread -> thread.matches("\\d+ sm-io-\\d+-\\d+"))
            .anyMatch(thread -> thread.matches("\\d+ sm-worker-\\d+-\\d+"));
        Thread.sleep(5_000);
        Map<String, Long> after = voluntarySwitchesByThread(pid);

        Map<String, Long> woke = new TreeMap<>();
        after.forEach((thread, n) -> {
          long d = n - before.getOrDefault(thread, 0L);
          if (d > 0) {
            woke.put(thread, d);
          }
        });
        assertThat(woke.values().stream().mapToLong(Long::longValue).sum())
            .as("voluntary context switches of the idle server's threads in 5 s: %s", woke)
            .isLessThanOrEqualTo(20);
        server.terminate();
        assertThat(server.exitCode(Duration.ofSeconds(30))).isZero();
      }
    }
  }

  /** Per thread of process {@code pid} ("TID name"): its voluntary context switches so far. */
  private static Map<String, Long> voluntarySwitchesByThread(long pid) throws IOException {
    Map<String, Long> counts = new TreeMap<>();
    try (var threads = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) threads::iterator) {
        try {
          String name = Files.readString(t.resolve("comm")).strip();
          for (String line : Files.readAllLines(t.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
              counts.put(t.getFileName() + " " + name, Long.parseLong(line.substring(line.indexOf(':') + 1).trim()));
            }
          }
        } catch (NoSuchFileException ended) {
          // The thread ended while we looked.
        }
      }
    }
    return counts;
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
  private static String sigIgn(long pid) throws IOException {
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
