package dev.sandboxmetrics.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of the {@code sandbox-metrics} executable. Holds runsc's global flags, which come before the
 * subcommand as with runsc ({@code sandbox-metrics --root=DIR export-metrics ID}).
 *
 * <p>TODO(cli): Go-style single-dash flags, logging set-up, version, exit codes: the CLI issue.
 */
@Command(
    name = "sandbox-metrics",
    mixinStandardHelpOptions = true,
    description = "Prometheus metrics of gVisor (runsc) sandboxes; a drop-in for runsc metric-server.",
    subcommands = {
      ExportMetricsCommand.class,
      MetricServerCommand.class,
      SimulateCommand.class,
      DemoCommand.class,
    })
public final class Main {
  @Option(names = "--root", description = "OCI runtime root directory holding the state files (default: ${DEFAULT-VALUE}).")
  String root = "/var/run/runsc";

  @Option(names = "--metric-server", description = "Address of the metric server: host:port, :port, or an absolute Unix socket path.")
  String metricServer = "";

  @Option(names = "--debug", description = "Verbose logging.")
  boolean debug;

  @Option(names = "--debug-log", description = "Where logs go (default: stderr).")
  String debugLog = "";

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
