package dev.sandboxmetrics.cli;

import static dev.sandboxmetrics.cli.Cli.assertOneLineFailure;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as scripts see it: help, version, exit codes, flag spellings, logging. */
class CommandLineIT {
  @TempDir Path dir;

  @Test
  void helpEverywhereExitsZeroOnStdout() throws Exception {
    for (String[] args : new String[][] {{"--help"}, {"-help"}, {"-h"}, {"export-metrics", "--help"},
        {"--root=/x", "export-metrics", "-help"}, {"metric-server", "--help"}, {"simulate", "-h"},
        {"demo", "-help"}}) {
      Cli.Result r = Cli.run(args);
      assertThat(r.exit()).as(r.toString()).isZero();
      assertThat(r.out()).as(r.toString()).startsWith("Usage: sandbox-metrics");
      assertThat(r.err()).isEmpty();
    }
    for (String help : new String[] {"--help", "-help", "-h"}) {
      assertThat(Cli.run(help).out()).as(help + " lists the commands").contains(Main.SUBCOMMANDS);
    }
    assertThat(Cli.run("export-metrics", "--help").out())
        .contains("--exporter-prefix").contains("--sandbox-metrics-filter").contains("CONTAINER_ID");
  }

  @Test
  void versionEverywhere() throws Exception {
    for (String[] args : new String[][] {{"--version"}, {"-version"}, {"-V"}, {"export-metrics", "--version"},
        {"metric-server", "--version"}, {"simulate", "-V"}, {"demo", "-version"}}) {
      Cli.Result r = Cli.run(args);
      assertThat(r.exit()).as(r.toString()).isZero();
      assertThat(r.err()).as(r.toString()).isEmpty();
      assertThat(r.out()).matches("(?s)sandbox-metrics \\d+\\.\\d+\\.\\d+\\S*\nJava .*");
    }
  }

  @Test
  void usageErrorsExitTwoWithOneLine() throws Exception {
    String[][] cases = {
      {"--bogus", "export-metrics", "x"},
      {"export-metrics"},
      {"export-metrics", "a", "b"},
      {"export-metrics", "--timeout=soon", "x"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--gzip-level=10"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--socket-mode=999"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--socket-mode=rw"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--max-connections=0"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--allow-peer-uid=-1"},
      {"--metric-server=/tmp/sm-never.sock", "metric-server", "--allow-peer-gid=staff"},
      {"--metric-server=127.0.0.1:0", "metric-server", "--allow-peer-uid=0,1"},
      {"no-such-command"},
      {},
    };
    for (String[] args : cases) {
      Cli.Result r = Cli.run(args);
      assertThat(r.exit()).as(String.join(" ", args) + "\n" + r).isEqualTo(2);
      assertThat(r.errLines()).as(r.toString()).hasSize(1);
      assertThat(r.err()).startsWith("sandbox-metrics: ");
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void globalFlagsInEveryGoSpelling() throws Exception {
    Path missing = dir.resolve("missing");
    for (String[] args : new String[][] {
      {"--root=" + missing, "export-metrics", "x"},
      {"--root", missing.toString(), "export-metrics", "x"},
      {"-root=" + missing, "export-metrics", "x"},
      {"-root", missing.toString(), "export-metrics", "x"},
      {"-debug=false", "-root", missing.toString(), "export-metrics", "x"},
    }) {
      assertOneLineFailure(Cli.run(args), "root directory " + missing + " does not exist");
    }
  }

  @Test
  void rootDefaultsToXdgRuntimeDirLikeRunsc() throws Exception {
    Cli.Result r = Cli.run(Map.of("XDG_RUNTIME_DIR", dir.toString()), "export-metrics", "x");
    assertOneLineFailure(r, "root directory " + dir.resolve("runsc") + " does not exist");
  }

  @Test
  void debugLogsGoToStderrOrToTheDebugLogFile() throws Exception {
    Path root = dir.resolve("root");
    try (Simulator sim = Simulator.start(root, "")) {
      sim.createRunning(SandboxSpec.builder("s1").build());

      Cli.Result quiet = Cli.run("--root=" + root, "export-metrics", "s1");
      assertThat(quiet.exit()).as(quiet.toString()).isZero();
      assertThat(quiet.err()).isEmpty();

      Cli.Result debug = Cli.run("-debug", "--root=" + root, "export-metrics", "s1");
      assertThat(debug.exit()).as(debug.toString()).isZero();
      assertThat(debug.err()).contains("[DEBUG]").contains("Wrote ");
      assertThat(debug.samples()).isNotEmpty();

      Path logDir = dir.resolve("logs");
      Cli.Result toFile = Cli.run("--debug", "--debug-log=" + logDir + "/", "--root=" + root, "export-metrics", "s1");
      assertThat(toFile.exit()).as(toFile.toString()).isZero();
      assertThat(toFile.err()).isEmpty();
      try (var files = Files.list(logDir)) {
        Path log = files.findFirst().orElseThrow();
        assertThat(log.getFileName().toString()).matches("runsc\\.log\\.\\d{8}-\\d{6}\\.\\d{6}\\.export-metrics\\.txt");
        assertThat(Files.readString(log)).contains("[DEBUG]").contains("Wrote ");
      }

      // The same through picocli (the fast path leaves "--" to it): logging comes from the parsed options.
      Path picocliLogDir = dir.resolve("logs-picocli");
      Cli.Result viaPicocli = Cli.run("-debug=true", "-debug-log", picocliLogDir + "/", "-root", root.toString(),
          "export-metrics", "--", "s1");
      assertThat(viaPicocli.exit()).as(viaPicocli.toString()).isZero();
      assertThat(viaPicocli.err()).isEmpty();
      assertThat(viaPicocli.samples()).isNotEmpty();
      try (var files = Files.list(picocliLogDir)) {
        Path log = files.findFirst().orElseThrow();
        assertThat(log.getFileName().toString()).endsWith(".export-metrics.txt");
        assertThat(Files.readString(log)).contains("[DEBUG]").contains("Wrote ");
      }
    }
  }

  @Test
  void errorsAfterLogsRedirectedStillReachTheTerminal() throws Exception {
    Path log = dir.resolve("debug.log");
    Cli.Result r = Cli.run("--debug-log=" + log, "--root=" + dir.resolve("missing"), "export-metrics", "x");
    assertOneLineFailure(r, "does not exist");
  }

  @Test
  void runscGlobalFlagsAreAcceptedAndTheMeaningfulOnesWork() throws Exception {
    Path missing = dir.resolve("missing");
    Path errorLog = dir.resolve("runsc.log");
    Cli.Result r = Cli.run("--platform=kvm", "-network", "host", "--log-format=json", "-systemd-cgroup",
        "--log", errorLog.toString(), "--root=" + missing, "export-metrics", "x");
    assertOneLineFailure(r, "root directory " + missing + " does not exist");
    assertThat(Files.readString(errorLog))
        .matches("\\{\"msg\":\"root directory .*missing does not exist \\(set it with --root\\)\","
            + "\"level\":\"error\",\"time\":\"[^\"]+\"}\n");

    Path debugLog = dir.resolve("debug.log");
    Cli.Result debug = Cli.run("--debug", "--debug-log=" + debugLog, "--alsologtostderr", "--platform", "ptrace",
        "--root=" + missing, "export-metrics", "x");
    assertThat(debug.exit()).isEqualTo(1);
    assertThat(debug.err()).contains("Ignoring runsc flags that mean nothing to a metric server: --platform=ptrace");
    assertThat(Files.readString(debugLog)).contains("--platform=ptrace");

    Path notForUs = dir.resolve("not-for-export.log");
    Cli.Result filtered = Cli.run("--debug", "--debug-log=" + notForUs, "--debug-command=create,start",
        "--root=" + missing, "export-metrics", "x");
    assertOneLineFailure(filtered, "does not exist");
    assertThat(notForUs).doesNotExist();
    Cli.Result filteredViaPicocli = Cli.run("--debug", "--debug-log=" + notForUs, "--debug-command=!export-metrics",
        "--root=" + missing, "export-metrics", "--", "x");
    assertOneLineFailure(filteredViaPicocli, "does not exist");
    assertThat(notForUs).doesNotExist();

    Cli.Result bad = Cli.run("--rootless=maybe", "export-metrics", "x");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).isEqualTo("sandbox-metrics: invalid boolean value \"maybe\" for -rootless: parse error "
        + "(see 'sandbox-metrics --help')\n");
  }
}
