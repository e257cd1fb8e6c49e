package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code sandbox-metrics simulate} run as a real process, stopped with a real SIGTERM. */
@Timeout(120)
class SimulateCommandTest {
  @TempDir Path tmp;

  @Test
  void simulatesUntilSigtermThenRemovesEverythingAndExitsZero() throws Exception {
    Path root = tmp.resolve("root");
    Process p =
        start("--root", root.toString(), "--metric-server", "localhost:1337", "simulate",
            "--sandboxes", "4", "--fault", "stall=1", "--fault", "counter-decrease", "--sub-containers", "1");
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        lines.add(line);
        if (line.startsWith("Running until")) {
          break;
        }
      }
      assertThat(lines).as("output: %s", lines).anyMatch(l -> l.startsWith("Running until"));
      assertThat(lines).anyMatch(l -> l.startsWith("sim-000 ") && l.contains("none"));
      assertThat(lines).anyMatch(l -> l.startsWith("sim-002 ") && l.contains("stall"));
      assertThat(lines).anyMatch(l -> l.startsWith("sim-003 ") && l.contains("counter-decrease"));
      assertThat(lines).anyMatch(l -> l.contains(root.resolve("runsc-sim-001.sock").toString()));
      assertThat(list(root)).contains("sim-000_sandbox:sim-000.state", "sim-000-c1_sandbox:sim-000.lock",
          "runsc-sim-003.sock").hasSize(4 * 5);

      p.destroy(); // SIGTERM
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(p.exitValue()).isZero();
    assertThat(root).doesNotExist();
  }

  /**
   * Without --metric-server no metric server serves the sandboxes, so the suggested command must be one
   * that shows their metrics all the same, and the output must say why a server would see none.
   */
  @Test
  void withoutAMetricServerTheSuggestedCommandWorks() throws Exception {
    Path root = tmp.resolve("root");
    Process p = start("--root", root.toString(), "simulate", "--sandboxes", "2");
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Running until")) {
        lines.add(line);
      }
      String tryLine = lines.stream().filter(l -> l.startsWith("Try: sandbox-metrics ")).findFirst().orElseThrow();
      assertThat(lines).as("output: %s", lines)
          .anyMatch(l -> l.contains("No metric server serves these sandboxes") && l.contains("--metric-server"));
      String[] suggested = tryLine.substring("Try: sandbox-metrics ".length()).split(" ");
      Process export = start(ProcessBuilder.Redirect.PIPE, suggested);
      String metrics = new String(export.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String err = new String(export.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(export.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(export.exitValue()).as("%s: %s", tryLine, err).isZero();
      assertThat(metrics).contains("\nrunsc_fs_opens{");
      p.destroy();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(p.exitValue()).isZero();
  }

  @Test
  void globalFlagsMayAlsoFollowTheSubcommand() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("existing"));
    Process p = start("simulate", "--root", root.toString(), "--metric-server", "/tmp/x.sock", "--sandboxes", "1",
        "--profile", "bench", "--id-prefix", "b");
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Running until")) {
        // Skip to the end of the description.
      }
      assertThat(list(root)).containsExactlyInAnyOrder("b000_sandbox:b000.state", "b000_sandbox:b000.lock", "runsc-b000.sock");
      p.destroy();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(p.exitValue()).isZero();
    assertThat(list(root)).isEmpty();
  }

  @Test
  void badFlagsAreAUsageError() throws Exception {
    for (String[] args :
        List.of(
            new String[] {"--root", tmp.toString(), "simulate", "--fault", "explode=1"},
            new String[] {"--root", tmp.toString(), "simulate", "--sandboxes", "1", "--fault", "stall=2"},
            new String[] {"--root", tmp.toString(), "simulate", "--profile", "huge"},
            new String[] {"--root", tmp.toString(), "simulate", "--slow-delay", "soon"},
            new String[] {"--root", tmp.toString(), "simulate", "--churn", "-1"},
            new String[] {"--root", tmp.toString(), "simulate", "--sandboxes", "2", "--churn", "3"},
            new String[] {"--root", tmp.toString(), "simulate", "--churn-log", tmp.resolve("log").toString()})) {
      Process p = start(ProcessBuilder.Redirect.PIPE, args);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("%s: %s", String.join(" ", args), err).isEqualTo(2);
    }
    assertThat(list(tmp)).isEmpty();
  }

  /** Runs the command; stderr is read by the caller (usage errors) or discarded (logs could fill the pipe). */
  @Test
  void theSandboxProcessesDieWithTheSimulatorEvenWhenItIsKilled() throws Exception {
    Path root = tmp.resolve("root");
    Process p = start("--root", root.toString(), "--metric-server", "localhost:1337", "simulate", "--sandboxes", "3");
    List<Long> pids = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("Running until")) {
        if (line.startsWith("sim-")) {
          pids.add(Long.parseLong(line.split("\\s+")[1]));
        }
      }
    }
    assertThat(pids).hasSize(3).allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    p.destroyForcibly(); // SIGKILL: no clean-up code runs in the simulator
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (pids.stream().anyMatch(SimulateCommandTest::alive) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(pids).noneMatch(SimulateCommandTest::alive);
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Test
  void aRootThatCannotBeMadeIsAOneLineFailure() throws Exception {
    Path file = Files.writeString(tmp.resolve("not-a-directory"), "x");
    Process p = start(ProcessBuilder.Redirect.PIPE, "--root", file.resolve("root").toString(), "simulate");
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(1);
    assertThat(err).startsWith("sandbox-metrics: cannot use root directory " + file.resolve("root"));
  }

  private static Process start(String... args) throws IOException {
    return start(ProcessBuilder.Redirect.DISCARD, args);
  }

  private static Process start(ProcessBuilder.Redirect stderr, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(stderr).start();
  }

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      List<String> out = new ArrayList<>();
      s.forEach(p -> out.add(p.getFileName().toString()));
      return out;
    }
  }
}
