package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.metricserver.server.MetricServer;
import dev.sandboxmetrics.metricserver.server.MetricServerOptions;
import dev.sandboxmetrics.metricserver.server.ShutdownSignals;
import dev.sandboxmetrics.metricserver.server.StartupException;
import dev.sandboxmetrics.metricserver.http.ConnectionPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
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

  /** Netty's switch for its JFR events (io.netty.util.internal.PlatformDependent reads it once). */
  static final String NETTY_JFR = "io.netty.jfr.enabled";

  // The option names and defaults, shared with MetricServerFastPath (MetricServerFastPathTest checks both parse alike).
  static final String EXPORTER_PREFIX = "--exporter-prefix";
  static final String PID_FILE = "--pid-file";
  static final String ALLOW_PROFILING = "--allow-profiling";
  static final String ALLOW_UNKNOWN_ROOT = "--allow-unknown-root";
  static final String EXPORT_TIMEOUT = "--export-timeout";
  static final String SANDBOX_TIMEOUT = "--sandbox-timeout";
  static final String MAX_PARALLEL_QUERIES = "--max-parallel-queries";
  static final String MAX_REPLY_BYTES = "--max-reply-bytes";
  static final String MAX_REPLY_BYTES_IN_FLIGHT = "--max-reply-bytes-in-flight";
  static final String MAX_SERIES_PER_SANDBOX = "--max-series-per-sandbox";
  static final String RESCAN_INTERVAL = "--rescan-interval";
  static final String HTTP_TIMEOUT = "--http-timeout";
  static final String GZIP_LEVEL = "--gzip-level";
  static final String SELF_METRICS = "--self-metrics";
  static final String MAX_CONNECTIONS = "--max-connections";
  static final String SOCKET_MODE = "--socket-mode";
  static final String ALLOW_PEER_UID = "--allow-peer-uid";
  static final String ALLOW_PEER_GID = "--allow-peer-gid";
  static final String CONTAINER_STATS = "--container-stats";
  static final String CGROUP_ROOT = "--cgroup-root";
  static final String DEFAULT_EXPORTER_PREFIX = MetricServerOptions.DEFAULT_EXPORTER_PREFIX;
  static final String DEFAULT_EXPORT_TIMEOUT = "30s";
  static final String DEFAULT_SANDBOX_TIMEOUT = "8s";
  static final String DEFAULT_MAX_PARALLEL_QUERIES = "256";
  static final String DEFAULT_MAX_REPLY_BYTES = "" + MetricServerOptions.DEFAULT_MAX_REPLY_BYTES;
  static final String DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT = "33554432";
  static final String DEFAULT_MAX_SERIES_PER_SANDBOX = "100000";
  static final String DEFAULT_RESCAN_INTERVAL = "20s";
  static final String DEFAULT_HTTP_TIMEOUT = "1m";
  static final String DEFAULT_GZIP_LEVEL = "1";
  static final String DEFAULT_SELF_METRICS = "true";
  static final String DEFAULT_MAX_CONNECTIONS = "1000";
  static final String DEFAULT_SOCKET_MODE = "0777";

  @Option(names = EXPORTER_PREFIX, paramLabel = "PREFIX", defaultValue = DEFAULT_EXPORTER_PREFIX,
      description = "Prefix for all metric names, following Prometheus exporter convention (default: ${DEFAULT-VALUE}).")
  String exporterPrefix;

  @Option(names = PID_FILE, paramLabel = "PATH",
      description = "Write the server's PID to this file after binding to the --metric-server address; removed on "
          + "shutdown. Its directory must exist.")
  Path pidFile;

  @Option(names = ALLOW_PROFILING, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Expose /runsc-metrics/profile-cpu (a JFR recording) and /runsc-metrics/profile-heap (a class "
          + "histogram). For development only.")
  boolean allowProfiling;

  @Option(names = ALLOW_UNKNOWN_ROOT, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Keep running even if the root directory is missing or unreadable (at start-up or later).")
  boolean allowUnknownRoot;

  @Option(names = EXPORT_TIMEOUT, paramLabel = "DURATION", defaultValue = DEFAULT_EXPORT_TIMEOUT,
      description = "(Not in runsc.) Longest time one /metrics export may take in all (default: ${DEFAULT-VALUE}, runsc's value).")
  Duration exportTimeout;

  @Option(names = SANDBOX_TIMEOUT, paramLabel = "DURATION", defaultValue = DEFAULT_SANDBOX_TIMEOUT,
      description = "(Not in runsc.) Longest time to wait for one sandbox's reply; all sandboxes are asked at once "
          + "(default: ${DEFAULT-VALUE}, runsc's minimum per sandbox).")
  Duration sandboxTimeout;

  @Option(names = MAX_PARALLEL_QUERIES, paramLabel = "N", defaultValue = DEFAULT_MAX_PARALLEL_QUERIES,
      description = "(Not in runsc.) Most sandboxes queried at the same time; more wait their turn in a random order "
          + "(default: ${DEFAULT-VALUE}).")
  int maxParallelQueries;

  @Option(names = MAX_REPLY_BYTES, paramLabel = "BYTES", defaultValue = DEFAULT_MAX_REPLY_BYTES,
      description = "(Not in runsc.) Largest reply accepted from one sandbox; a larger one counts as broken "
          + "(default: ${DEFAULT-VALUE}, 8 MiB: eight times the largest reply gVisor's metrics can make).")
  int maxReplyBytes;

  @Option(names = MAX_REPLY_BYTES_IN_FLIGHT, paramLabel = "BYTES", defaultValue = DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT,
      description = "(Not in runsc.) Reply bytes held in memory at once across all sandboxes; more wait unread "
          + "in their sockets (default: ${DEFAULT-VALUE}, 32 MiB; at least --max-reply-bytes).")
  long maxReplyBytesInFlight;

  @Option(names = MAX_SERIES_PER_SANDBOX, paramLabel = "N", defaultValue = DEFAULT_MAX_SERIES_PER_SANDBOX,
      description = "(Not in runsc.) Most series a sandbox's registration may allow (label combinations, histogram "
          + "lines); a sandbox whose registration allows more counts as broken (default: ${DEFAULT-VALUE}; gVisor "
          + "registers about 3,000).")
  long maxSeriesPerSandbox;

  @Option(names = RESCAN_INTERVAL, paramLabel = "DURATION", defaultValue = DEFAULT_RESCAN_INTERVAL,
      description = "(Not in runsc.) The longest the root directory goes without a scan (default: ${DEFAULT-VALUE}, "
          + "runsc's interval): every /metrics request scans it, and the server does in the background when no "
          + "request has for this long.")
  Duration rescanInterval;

  @Option(names = HTTP_TIMEOUT, paramLabel = "DURATION", defaultValue = DEFAULT_HTTP_TIMEOUT,
      description = "(Not in runsc.) HTTP read and write timeout; also closes idle keep-alive connections "
          + "(default: ${DEFAULT-VALUE}, runsc's value).")
  Duration httpTimeout;

  @Option(names = GZIP_LEVEL, paramLabel = "N", defaultValue = DEFAULT_GZIP_LEVEL,
      description = "(Not in runsc.) gzip level of responses to clients that accept gzip (Prometheus does): 1 "
          + "fastest to 9 smallest, 0 never compresses (default: ${DEFAULT-VALUE}; level 6 costs about three "
          + "times the CPU for a 10%% smaller response).")
  int gzipLevel;

  @Option(names = SELF_METRICS, arity = "0..1", fallbackValue = "true", defaultValue = DEFAULT_SELF_METRICS, paramLabel = "BOOL",
      description = "(Not in runsc.) End /metrics with the server's own metrics: scrape and sandbox query durations, "
          + "reply sizes, failed queries by reason, open connections, process and JVM basics (default: "
          + "${DEFAULT-VALUE}; --self-metrics=false leaves them out).")
  boolean selfMetrics;

  @Option(names = MAX_CONNECTIONS, paramLabel = "N", defaultValue = DEFAULT_MAX_CONNECTIONS,
      description = "(Not in runsc.) Most client connections open at once; beyond it the connection idle the longest is "
          + "closed (the new one if all are busy), so clients cannot take the file descriptors sandboxes need. Never "
          + "more than half the process's descriptor limit (default: ${DEFAULT-VALUE}).")
  int maxConnections;

  @Option(names = SOCKET_MODE, paramLabel = "OCTAL", defaultValue = DEFAULT_SOCKET_MODE,
      description = "(Not in runsc.) Permission bits of the Unix socket file of --metric-server (default: ${DEFAULT-VALUE}, "
          + "as runsc: access is then governed by the socket's directory).")
  String socketMode;

  @Option(names = ALLOW_PEER_UID, paramLabel = "UID", split = ",",
      description = "(Not in runsc.) On a Unix socket, serve only callers with this user ID (SO_PEERCRED); repeatable or "
          + "comma-separated. Others are closed before anything is read. Needs the native epoll transport.")
  List<Integer> allowPeerUids = new ArrayList<>();

  @Option(names = ALLOW_PEER_GID, paramLabel = "GID", split = ",",
      description = "(Not in runsc.) On a Unix socket, also serve callers whose primary group ID is this one; "
          + "repeatable or comma-separated.")
  List<Integer> allowPeerGids = new ArrayList<>();

  @Option(names = CONTAINER_STATS, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "(Not in runsc.) Also serve each gVisor container's CPU, memory and tasks under cAdvisor's "
          + "series names (container_cpu_usage_seconds_total...), from containerManager.Event and the sandbox's "
          + "host cgroup, plus network, memory overhead and pressure per sandbox. Off by default.")
  boolean containerStats;

  @Option(names = CGROUP_ROOT, paramLabel = "DIR",
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
    if (maxReplyBytesInFlight < maxReplyBytes) {
      throw CommandFailure.usage("--max-reply-bytes-in-flight must be at least --max-reply-bytes (" + maxReplyBytes
          + "), got " + maxReplyBytesInFlight, null);
    }
    if (maxSeriesPerSandbox < 1) {
      throw CommandFailure.usage("--max-series-per-sandbox must be at least 1, got " + maxSeriesPerSandbox, null);
    }
    if (gzipLevel < 0 || gzipLevel > 9) {
      throw CommandFailure.usage("--gzip-level must be 0 to 9, got " + gzipLevel, null);
    }
    if (maxConnections < 1) {
      throw CommandFailure.usage("--max-connections must be at least 1, got " + maxConnections, null);
    }
    int mode = parseSocketMode(socketMode);
    for (int id : allowPeerUids) {
      requireId("--allow-peer-uid", id);
    }
    for (int id : allowPeerGids) {
      requireId("--allow-peer-gid", id);
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
            .withMaxReplyBytesInFlight(maxReplyBytesInFlight)
            .withMaxSeriesPerSandbox(maxSeriesPerSandbox)
            .withRescanInterval(rescanInterval)
            .withHttpTimeout(httpTimeout)
            .withGzipLevel(gzipLevel)
            .withSelfMetrics(selfMetrics)
            .withConnections(
                ConnectionPolicy.DEFAULT
                    .withMaxConnections(maxConnections)
                    .withSocketMode(mode)
                    .withAllowedPeers(Set.copyOf(allowPeerUids), Set.copyOf(allowPeerGids)))
            .withContainerStats(containerStats)
            .withCgroupRoot(cgroupRoot);
    // Netty 4.2 declares JFR events for its allocator; the first of them loaded starts JFR's event machinery
    // (~100 classes of jdk.jfr, ~1 MB of metaspace and code for the server's life) although nothing records
    // them. Off unless asked for (-Dio.netty.jfr.enabled=true); set before Netty's first class is loaded.
    if (System.getProperty(NETTY_JFR) == null) {
      System.setProperty(NETTY_JFR, "false");
    }
    // Before the start, so that a signal sent as soon as the PID file exists stops the server cleanly.
    ShutdownSignals signals = ShutdownSignals.install();
    MetricServer server;
    try {
      server = MetricServer.start(options);
    } catch (StartupException e) {
      throw e.isUsageError() ? CommandFailure.usage(e.getMessage(), e) : new CommandFailure(e.getMessage(), e);
    }
    signals.attach(server);
    server.awaitTermination();
    return Main.EXIT_OK;
  }

  static int parseSocketMode(String text) {
    try {
      int mode = Integer.parseInt(text, 8);
      if (mode >= 0 && mode <= 0777) {
        return mode;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw CommandFailure.usage("--socket-mode must be octal permission bits from 0 to 0777 (e.g. 0660), got " + text, null);
  }

  private static void requireId(String flag, int id) {
    if (id < 0) {
      throw CommandFailure.usage(flag + " must be a numeric ID of 0 or more, got " + id, null);
    }
  }

  private static void requirePositive(String flag, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw CommandFailure.usage(flag + " must be positive, got " + d, null);
    }
  }
}
