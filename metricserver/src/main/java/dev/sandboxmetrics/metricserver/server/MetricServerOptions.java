package dev.sandboxmetrics.metricserver.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

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
    List<String> extraListenAddresses) {

  public static final String DEFAULT_EXPORTER_PREFIX = "runsc_";
  /** runsc: one export takes at most 30 s. */
  public static final Duration DEFAULT_EXPORT_TIMEOUT = Duration.ofSeconds(30);
  /** runsc: each sandbox gets at least 8 s. */
  public static final Duration DEFAULT_SANDBOX_TIMEOUT = Duration.ofSeconds(8);
  public static final int DEFAULT_MAX_PARALLEL_QUERIES = 256;
  public static final int DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;
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
        List.of());
  }

  public MetricServerOptions withExporterPrefix(String v) {
    return new MetricServerOptions(rootDir, address, v, pidFile, allowProfiling, allowUnknownRoot, exportTimeout,
        sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withPidFile(Path v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, v, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel,
        extraListenAddresses);
  }

  public MetricServerOptions withAllowProfiling(boolean v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, v, allowUnknownRoot, exportTimeout,
        sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withAllowUnknownRoot(boolean v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, v, exportTimeout,
        sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withExportTimeout(Duration v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot, v,
        sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withSandboxTimeout(Duration v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, v, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withMaxParallelQueries(int v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, v, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withMaxReplyBytes(int v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, v, rescanInterval, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withRescanInterval(Duration v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, maxReplyBytes, v, httpTimeout, gzipLevel, extraListenAddresses);
  }

  public MetricServerOptions withHttpTimeout(Duration v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, v, gzipLevel, extraListenAddresses);
  }

  /** gzip level for clients that accept gzip: 1 (fastest) to 9 (smallest), or 0 to never compress. */
  public MetricServerOptions withGzipLevel(int v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, v,
        extraListenAddresses);
  }

  /** More addresses to serve HTTP on; sandboxes are still matched against {@link #address} only. */
  public MetricServerOptions withExtraListenAddresses(List<String> v) {
    return new MetricServerOptions(rootDir, address, exporterPrefix, pidFile, allowProfiling, allowUnknownRoot,
        exportTimeout, sandboxTimeout, maxParallelQueries, maxReplyBytes, rescanInterval, httpTimeout, gzipLevel, v);
  }
}
