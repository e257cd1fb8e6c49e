package dev.sandboxmetrics.cli;

import static dev.sandboxmetrics.cli.FastPathArgs.decimalInt;
import static dev.sandboxmetrics.cli.FastPathArgs.decimalLong;
import static dev.sandboxmetrics.cli.FastPathArgs.duration;
import static dev.sandboxmetrics.cli.FastPathArgs.ids;
import static dev.sandboxmetrics.cli.FastPathArgs.path;

import dev.sandboxmetrics.cli.FastPathArgs.Decline;

/**
 * The usual {@code metric-server} command line, parsed without picocli. Called by {@link Main#run} before it
 * builds any picocli model, for the server's memory rather than its start: a class once loaded stays loaded
 * for the life of the JVM, and picocli's (its ~170 classes, the annotation proxies and reflection it uses,
 * the {@code java.sql} types its converters name) cost the server ~4 MB of metaspace, class space and
 * symbols for as long as it runs (measured 2026-12-05 with NMT: metaspace 0.8 against 3.9 MB for the same
 * command line through the fast path and through picocli; README, Memory).
 *
 * <p>It reads as {@link ExportMetricsFastPath} does, by {@link FastPathArgs}'s rules: only what scripts and
 * unit files write (the global and metric-server options in Go's and GNU spellings) is accepted; anything
 * else (help, version, {@code @}-files, {@code --}, an unknown or malformed option or value, an argument
 * that is not an option, a value picocli might read differently) is declined (null) and goes to picocli
 * exactly as before, so every message and exit code stays picocli's. The checks of the values' ranges stay
 * in {@link MetricServerCommand#call}, which both paths run. MetricServerFastPathTest checks on generated command lines that whatever this accepts,
 * picocli parses to the same values.
 */
final class MetricServerFastPath {
  private MetricServerFastPath() {}

  /**
   * Parses normalized arguments into {@code main}'s global options and a new metric-server command whose
   * parent is {@code main}; null (and {@code main} partly set, to be discarded) when picocli must decide.
   */
  static MetricServerCommand parse(Main main, String[] args) {
    return FastPathArgs.read(args, in -> parse(main, in));
  }

  private static MetricServerCommand parse(Main main, FastPathArgs in) {
    in.globalOptionsThen(main, "metric-server");
    MetricServerCommand cmd = new MetricServerCommand();
    cmd.global = main;
    cmd.exporterPrefix = MetricServerCommand.DEFAULT_EXPORTER_PREFIX;
    cmd.exportTimeout = GoDurationConverter.parse(MetricServerCommand.DEFAULT_EXPORT_TIMEOUT);
    cmd.sandboxTimeout = GoDurationConverter.parse(MetricServerCommand.DEFAULT_SANDBOX_TIMEOUT);
    cmd.maxParallelQueries = Integer.parseInt(MetricServerCommand.DEFAULT_MAX_PARALLEL_QUERIES);
    cmd.maxReplyBytes = Integer.parseInt(MetricServerCommand.DEFAULT_MAX_REPLY_BYTES);
    cmd.maxReplyBytesInFlight = Long.parseLong(MetricServerCommand.DEFAULT_MAX_REPLY_BYTES_IN_FLIGHT);
    cmd.maxSeriesPerSandbox = Long.parseLong(MetricServerCommand.DEFAULT_MAX_SERIES_PER_SANDBOX);
    cmd.rescanInterval = GoDurationConverter.parse(MetricServerCommand.DEFAULT_RESCAN_INTERVAL);
    cmd.httpTimeout = GoDurationConverter.parse(MetricServerCommand.DEFAULT_HTTP_TIMEOUT);
    cmd.gzipLevel = Integer.parseInt(MetricServerCommand.DEFAULT_GZIP_LEVEL);
    cmd.selfMetrics = Boolean.parseBoolean(MetricServerCommand.DEFAULT_SELF_METRICS);
    cmd.maxConnections = Integer.parseInt(MetricServerCommand.DEFAULT_MAX_CONNECTIONS);
    cmd.socketMode = MetricServerCommand.DEFAULT_SOCKET_MODE;
    while (in.hasNext()) {
      if (!in.atOption()) {
        throw Decline.INSTANCE; // metric-server takes no arguments: picocli's error
      }
      String arg = in.nextOption();
      switch (FastPathArgs.name(arg)) {
        case MetricServerCommand.EXPORTER_PREFIX -> cmd.exporterPrefix = in.value(arg);
        case MetricServerCommand.PID_FILE -> cmd.pidFile = path(in.value(arg));
        case MetricServerCommand.ALLOW_PROFILING -> cmd.allowProfiling = in.bool(arg);
        case MetricServerCommand.ALLOW_UNKNOWN_ROOT -> cmd.allowUnknownRoot = in.bool(arg);
        case MetricServerCommand.EXPORT_TIMEOUT -> cmd.exportTimeout = duration(in.value(arg));
        case MetricServerCommand.SANDBOX_TIMEOUT -> cmd.sandboxTimeout = duration(in.value(arg));
        case MetricServerCommand.MAX_PARALLEL_QUERIES -> cmd.maxParallelQueries = decimalInt(in.value(arg));
        case MetricServerCommand.MAX_REPLY_BYTES -> cmd.maxReplyBytes = decimalInt(in.value(arg));
        case MetricServerCommand.MAX_REPLY_BYTES_IN_FLIGHT -> cmd.maxReplyBytesInFlight = decimalLong(in.value(arg));
        case MetricServerCommand.MAX_SERIES_PER_SANDBOX -> cmd.maxSeriesPerSandbox = decimalLong(in.value(arg));
        case MetricServerCommand.RESCAN_INTERVAL -> cmd.rescanInterval = duration(in.value(arg));
        case MetricServerCommand.HTTP_TIMEOUT -> cmd.httpTimeout = duration(in.value(arg));
        case MetricServerCommand.GZIP_LEVEL -> cmd.gzipLevel = decimalInt(in.value(arg));
        case MetricServerCommand.SELF_METRICS -> cmd.selfMetrics = in.bool(arg);
        case MetricServerCommand.MAX_CONNECTIONS -> cmd.maxConnections = decimalInt(in.value(arg));
        case MetricServerCommand.SOCKET_MODE -> cmd.socketMode = in.value(arg);
        case MetricServerCommand.ALLOW_PEER_UID -> ids(in.value(arg), cmd.allowPeerUids);
        case MetricServerCommand.ALLOW_PEER_GID -> ids(in.value(arg), cmd.allowPeerGids);
        case MetricServerCommand.CONTAINER_STATS -> cmd.containerStats = in.bool(arg);
        case MetricServerCommand.CGROUP_ROOT -> cmd.cgroupRoot = path(in.value(arg));
        default -> throw Decline.INSTANCE;
      }
    }
    return cmd;
  }
}
