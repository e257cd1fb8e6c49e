package dev.sandboxmetrics.metricserver.server;

import dev.sandboxmetrics.metricserver.http.ConnectionPolicy;
import dev.sandboxmetrics.runsc.control.BlockingControlClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How to run a metric server: runsc's settings ({@code --root}, {@code --metric-server},
 * {@code --exporter-prefix}, {@code --pid-file}, {@code --allow-profiling}, {@code --allow-unknown-root}) and
 * ours (timeouts and bounds), with runsc's values as defaults. Built by the {@code metric-server} and
 * {@code demo} commands and by tests.
 */
public record MetricServerOptions(
    String rootDir,
    String address,
    String exporterPrefix,
    Path pidFile,
    boolean allowProfiling,
    boolean allowUnknownRoot,
    Duration exportTimeout,
    Duration sandboxTimeout,
    int maxParallelQueries,
    int maxReplyBytes,
    Duration rescanInterval,
    Duration httpTimeout,
    int gzipLevel,
    List<String> extraListenAddresses,
    boolean selfMetrics,
    ConnectionPolicy connections,
    long maxReplyBytesInFlight,
    long maxSeriesPerSandbox,
    boolean containerStats,
    Path cgroupRoot) {

  public static final String DEFAULT_EXPORTER_PREFIX = "runsc_";
  /** runsc: one export takes at most 30 s. */
  public static final Duration DEFAULT_EXPORT_TIMEOUT = Duration.ofSeconds(30);
  /** runsc: each sandbox gets at least 8 s. */
  public static final Duration DEFAULT_SANDBOX_TIMEOUT = Duration.ofSeconds(8);
  public static final int DEFAULT_MAX_PARALLEL_QUERIES = 256;
  /**
   * Eight times the largest reply gVisor's registered metrics can make (about 1 MiB with every field
   * combination present and every number at its widest: see the README's flag table).
   */
  public static final int DEFAULT_MAX_REPLY_BYTES = BlockingControlClient.DEFAULT_MAX_REPLY_BYTES;
  /**
   * Reply bytes held at once across all sandboxes: four replies at the maximum size, which with the rest of
   * a scrape fits the shipped container's 128 MiB heap (256 MiB at MaxRAMPercentage=50). More replies than
   * that at once wait, unread, in their sockets.
   */
  public static final long DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT = 4L * DEFAULT_MAX_REPLY_BYTES;
  /**
   * Series a sandbox's registration may allow. gVisor registers about 3,000 (2,002 {@code sysno} values of
   * {@code /unimplemented_syscalls}, 606 socket-option combinations, ~200 more): over 30 times that.
   */
  public static final long DEFAULT_MAX_SERIES_PER_SANDBOX = 100_000;
  /** runsc: the background scan runs every 20 s. */
  public static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofSeconds(20);
  /** runsc: HTTP read and write timeouts of one minute. */
  public static final Duration DEFAULT_HTTP_TIMEOUT = Duration.ofMinutes(1);
  /**
   * gzip level of compressed responses. Level 1 compresses the Prometheus text of the benchmark workload
   * about 16 times at a third of level 6's CPU time (level 6, zlib's default, about 18 times); compression
   * is most of a scrape's CPU when the client asks for gzip, as Prometheus always does.
   */
  public static final int DEFAULT_GZIP_LEVEL = 1;

  public MetricServerOptions {
    Objects.requireNonNull(rootDir, "rootDir");
    Objects.requireNonNull(address, "address");
    exporterPrefix = exporterPrefix == null ? DEFAULT_EXPORTER_PREFIX : exporterPrefix;
    exportTimeout = exportTimeout == null ? DEFAULT_EXPORT_TIMEOUT : exportTimeout;
    sandboxTimeout = sandboxTimeout == null ? DEFAULT_SANDBOX_TIMEOUT : sandboxTimeout;
    rescanInterval = rescanInterval == null ? DEFAULT_RESCAN_INTERVAL : rescanInterval;
    httpTimeout = httpTimeout == null ? DEFAULT_HTTP_TIMEOUT : httpTimeout;
    if (gzipLevel < 0 || gzipLevel > 9) {
      throw new IllegalArgumentException("gzip level must be 0 (no compression) to 9, got " + gzipLevel);
    }
    extraListenAddresses = extraListenAddresses == null ? List.of() : List.copyOf(extraListenAddresses);
    connections = connections == null ? ConnectionPolicy.DEFAULT : connections;
    // One reply at the maximum must always fit, or it could never complete.
    maxReplyBytesInFlight = Math.max(maxReplyBytesInFlight <= 0 ? DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT
        : maxReplyBytesInFlight, maxReplyBytes);
    maxSeriesPerSandbox = maxSeriesPerSandbox <= 0 ? DEFAULT_MAX_SERIES_PER_SANDBOX : maxSeriesPerSandbox;
  }

  /** runsc's defaults for a root directory and an address. */
  public static MetricServerOptions of(String rootDir, String address) {
    return new MetricServerOptions(
        rootDir,
        address,
        DEFAULT_EXPORTER_PREFIX,
        null,
        false,
        false,
        DEFAULT_EXPORT_TIMEOUT,
        DEFAULT_SANDBOX_TIMEOUT,
        DEFAULT_MAX_PARALLEL_QUERIES,
        DEFAULT_MAX_REPLY_BYTES,
        DEFAULT_RESCAN_INTERVAL,
        DEFAULT_HTTP_TIMEOUT,
        DEFAULT_GZIP_LEVEL,
        List.of(),
        true,
        ConnectionPolicy.DEFAULT,
        DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT,
        DEFAULT_MAX_SERIES_PER_SANDBOX,
        false,
        null);
  }

  public MetricServerOptions withExporterPrefix(String v) {
    return edit(b -> b.exporterPrefix = v);
  }

  public MetricServerOptions withPidFile(Path v) {
    return edit(b -> b.pidFile = v);
  }

  public MetricServerOptions withAllowProfiling(boolean v) {
    return edit(b -> b.allowProfiling = v);
  }

  public MetricServerOptions withAllowUnknownRoot(boolean v) {
    return edit(b -> b.allowUnknownRoot = v);
  }

  public MetricServerOptions withExportTimeout(Duration v) {
    return edit(b -> b.exportTimeout = v);
  }

  public MetricServerOptions withSandboxTimeout(Duration v) {
    return edit(b -> b.sandboxTimeout = v);
  }

  public MetricServerOptions withMaxParallelQueries(int v) {
    return edit(b -> b.maxParallelQueries = v);
  }

  public MetricServerOptions withMaxReplyBytes(int v) {
    return edit(b -> b.maxReplyBytes = v);
  }

  public MetricServerOptions withRescanInterval(Duration v) {
    return edit(b -> b.rescanInterval = v);
  }

  public MetricServerOptions withHttpTimeout(Duration v) {
    return edit(b -> b.httpTimeout = v);
  }

  /** gzip level for clients that accept gzip: 1 (fastest) to 9 (smallest), or 0 to never compress. */
  public MetricServerOptions withGzipLevel(int v) {
    return edit(b -> b.gzipLevel = v);
  }

  /** More addresses to serve HTTP on; sandboxes are still matched against {@link #address} only. */
  public MetricServerOptions withExtraListenAddresses(List<String> v) {
    return edit(b -> b.extraListenAddresses = v);
  }

  /**
   * Whether /metrics ends with the server's own metrics (scrape and query durations, failures by reason,
   * process and JVM basics); on by default.
   */
  public MetricServerOptions withSelfMetrics(boolean v) {
    return edit(b -> b.selfMetrics = v);
  }

  /** The connection limit, the socket file's mode and the Unix-socket caller allow-list. */
  public MetricServerOptions withConnections(ConnectionPolicy v) {
    return edit(b -> b.connections = v);
  }

  /** Reply bytes held in memory at once across all sandboxes (at least {@link #maxReplyBytes}). */
  public MetricServerOptions withMaxReplyBytesInFlight(long v) {
    return edit(b -> b.maxReplyBytesInFlight = v);
  }

  /** Series a sandbox's registration may allow before the sandbox counts as broken. */
  public MetricServerOptions withMaxSeriesPerSandbox(long v) {
    return edit(b -> b.maxSeriesPerSandbox = v);
  }

  /** Per-container stats of gVisor pods under cAdvisor's names (issue 12); off by default. */
  public MetricServerOptions withContainerStats(boolean v) {
    return edit(b -> b.containerStats = v);
  }

  /** Replaces the cgroup mountpoint that state files record (null: as recorded). */
  public MetricServerOptions withCgroupRoot(Path v) {
    return edit(b -> b.cgroupRoot = v);
  }

  /** A copy with one setting changed: the withers' single place that lists every component. */
  private MetricServerOptions edit(Consumer<Editable> change) {
    Editable e = new Editable(this);
    change.accept(e);
    return new MetricServerOptions(e.rootDir, e.address, e.exporterPrefix, e.pidFile, e.allowProfiling,
        e.allowUnknownRoot, e.exportTimeout, e.sandboxTimeout, e.maxParallelQueries, e.maxReplyBytes,
        e.rescanInterval, e.httpTimeout, e.gzipLevel, e.extraListenAddresses, e.selfMetrics,
        e.connections, e.maxReplyBytesInFlight, e.maxSeriesPerSandbox, e.containerStats, e.cgroupRoot);
  }

  private static final class Editable {
    final String rootDir;
    final String address;
    String exporterPrefix;
    Path pidFile;
    boolean allowProfiling;
    boolean allowUnknownRoot;
    Duration exportTimeout;
    Duration sandboxTimeout;
    int maxParallelQueries;
    int maxReplyBytes;
    Duration rescanInterval;
    Duration httpTimeout;
    int gzipLevel;
    List<String> extraListenAddresses;
    boolean selfMetrics;
    ConnectionPolicy connections;
    long maxReplyBytesInFlight;
    long maxSeriesPerSandbox;
    boolean containerStats;
    Path cgroupRoot;

    Editable(MetricServerOptions o) {
      rootDir = o.rootDir;
      address = o.address;
      exporterPrefix = o.exporterPrefix;
      pidFile = o.pidFile;
      allowProfiling = o.allowProfiling;
      allowUnknownRoot = o.allowUnknownRoot;
      exportTimeout = o.exportTimeout;
      sandboxTimeout = o.sandboxTimeout;
      maxParallelQueries = o.maxParallelQueries;
      maxReplyBytes = o.maxReplyBytes;
      rescanInterval = o.rescanInterval;
      httpTimeout = o.httpTimeout;
      gzipLevel = o.gzipLevel;
      extraListenAddresses = o.extraListenAddresses;
      selfMetrics = o.selfMetrics;
      connections = o.connections;
      maxReplyBytesInFlight = o.maxReplyBytesInFlight;
      maxSeriesPerSandbox = o.maxSeriesPerSandbox;
      containerStats = o.containerStats;
      cgroupRoot = o.cgroupRoot;
    }
  }
}
