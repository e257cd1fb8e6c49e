package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.server.ShutdownSignals;
import dev.sandboxmetrics.metricserver.server.StartupException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code sandbox-metrics metric-server}: runsc's metric server, with runsc's flags (global {@code --root} and
 * {@code --metric-server}, and {@code --exporter-prefix}, {@code --pid-file}, {@code --allow-profiling},
 * {@code --allow-unknown-root}) plus a few of ours for timeouts and bounds, whose defaults are runsc's
 * values. Runs until SIGINT or SIGTERM (or the root directory disappears), then exits 0; exits 1 when it
 * cannot start, 2 for bad flags.
 */
@Command(
    name = "metric-server",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Serve the Prometheus metrics of every sandbox in the root directory that asked for this metric server "
          + "(the sandboxes' --metric-server must equal this one's), over HTTP on --metric-server.",
      "Endpoints: /metrics, /runsc-metrics/healthcheck, /runsc-metrics/pid, / (and profiling with "
          + "--allow-profiling).",
    },
    footer = {
      "",
      "Example: sandbox-metrics --root=/var/run/docker/runtime-runc/moby --metric-server=localhost:1337 metric-server",
    })
final class MetricServerCommand implements Callable<Integer> {
  @ParentCommand Main global;

  @Option(names = "--exporter-prefix", paramLabel = "PREFIX", defaultValue = MetricServerOptions.DEFAULT_EXPORTER_PREFIX,
      description = "Prefix for all metric names, following Prometheus exporter convention (default: ${DEFAULT-VALUE}).")
  String exporterPrefix;

  @Option(names = "--pid-file", paramLabel = "PATH",
      description = "Write the server's PID to this file after binding to the --metric-server address; removed on "
          + "shutdown. Its directory must exist.")
  Path pidFile;

  @Option(names = "--allow-profiling", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Expose /runsc-metrics/profile-cpu (a JFR recording) and /runsc-metrics/profile-heap (a class "
          + "histogram). For development only.")
  boolean allowProfiling;

  @Option(names = "--allow-unknown-root", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Keep running even if the root directory is missing or unreadable (at start-up or later).")
  boolean allowUnknownRoot;

  @Option(names = "--export-timeout", paramLabel = "DURATION", converter = GoDurationConverter.class,
      defaultValue = "30s",
      description = "(Not in runsc.) Longest time one /metrics export may take in all (default: ${DEFAULT-VALUE}, runsc's value).")
  Duration exportTimeout;

  @Option(names = "--sandbox-timeout", paramLabel = "DURATION", converter = GoDurationConverter.class,
      defaultValue = "8s",
      description = "(Not in runsc.) Longest time to wait for one sandbox's reply; all sandboxes are asked at once "
          + "(default: ${DEFAULT-VALUE}, runsc's minimum per sandbox).")
  Duration sandboxTimeout;

  @Option(names = "--max-parallel-queries", paramLabel = "N", defaultValue = "256",
      description = "(Not in runsc.) Most sandboxes queried at the same time; more wait their turn in a random order "
          + "(default: ${DEFAULT-VALUE}).")
  int maxParallelQueries;

  @Option(names = "--max-reply-bytes", paramLabel = "BYTES", defaultValue = "67108864",
      description = "(Not in runsc.) Largest reply accepted from one sandbox; a larger one counts as broken "
          + "(default: ${DEFAULT-VALUE}, 64 MiB).")
  int maxReplyBytes;

  @Option(names = "--rescan-interval", paramLabel = "DURATION", converter = GoDurationConverter.class,
      defaultValue = "20s",
      description = "(Not in runsc.) How often the root directory is scanned between scrapes (default: ${DEFAULT-VALUE}, "
          + "runsc's value). Every /metrics request scans too.")
  Duration rescanInterval;

  @Option(names = "--http-timeout", paramLabel = "DURATION", converter = GoDurationConverter.class,
      defaultValue = "1m",
      description = "(Not in runsc.) HTTP read and write timeout; also closes idle keep-alive connections "
          + "(default: ${DEFAULT-VALUE}, runsc's value).")
  Duration httpTimeout;

  @Option(names = "--gzip-level", paramLabel = "N", defaultValue = "1",
      description = "(Not in runsc.) gzip level of responses to clients that accept gzip (Prometheus does): 1 "
          + "fastest to 9 smallest, 0 never compresses (default: ${DEFAULT-VALUE}; level 6 costs about three "
          + "times the CPU for a 10% smaller response).")
  int gzipLevel;

  @Option(names = "--container-stats", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "(Not in runsc.) Also serve each gVisor container's CPU, memory and tasks under cAdvisor's "
          + "series names (container_cpu_usage_seconds_total...), from containerManager.Event and the sandbox's "
          + "host cgroup, plus network, memory overhead and pressure per sandbox. Off by default.")
  boolean containerStats;

  @Option(names = "--cgroup-root", paramLabel = "DIR",
      description = "(Not in runsc.) With --container-stats: where the host's cgroup file system is, replacing "
          + "the mountpoint the state files record (default: as recorded, usually /sys/fs/cgroup).")
  Path cgroupRoot;

  @Override
  public Integer call() throws InterruptedException {
    requirePositive("--export-timeout", exportTimeout);
    requirePositive("--sandbox-timeout", sandboxTimeout);
    requirePositive("--rescan-interval", rescanInterval);
    requirePositive("--http-timeout", httpTimeout);
    if (maxParallelQueries < 1) {
      throw CommandFailure.usage("--max-parallel-queries must be at least 1, got " + maxParallelQueries, null);
    }
    if (maxReplyBytes < 1024) {
      throw CommandFailure.usage("--max-reply-bytes must be at least 1024, got " + maxReplyBytes, null);
    }
    if (gzipLevel < 0 || gzipLevel > 9) {
      throw CommandFailure.usage("--gzip-level must be 0 to 9, got " + gzipLevel, null);
    }
    if (global.metricServer().isEmpty()) {
      throw CommandFailure.usage(
          "metric-server needs the global --metric-server=ADDRESS (before the subcommand): host:port, :port or an "
              + "absolute Unix socket path",
          null);
    }
    MetricServerOptions options =
        MetricServerOptions.of(global.root(), global.metricServer())
            .withExporterPrefix(exporterPrefix)
            .withPidFile(pidFile)
            .withAllowProfiling(allowProfiling)
            .withAllowUnknownRoot(allowUnknownRoot)
            .withExportTimeout(exportTimeout)
            .withSandboxTimeout(sandboxTimeout)
            .withMaxParallelQueries(maxParallelQueries)
            .withMaxReplyBytes(maxReplyBytes)
            .withRescanInterval(rescanInterval)
            .withHttpTimeout(httpTimeout)
            .withGzipLevel(gzipLevel)
            .withContainerStats(containerStats)
            .withCgroupRoot(cgroupRoot);
    MetricServer server;
    try {
      server = MetricServer.start(options);
    } catch (StartupException e) {
      throw e.isUsageError() ? CommandFailure.usage(e.getMessage(), e) : new CommandFailure(e.getMessage(), e);
    }
    ShutdownSignals.install(server);
    server.awaitTermination();
    return Main.EXIT_OK;
  }

  private static void requirePositive(String flag, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw CommandFailure.usage(flag + " must be positive, got " + d, null);
    }
  }
}
