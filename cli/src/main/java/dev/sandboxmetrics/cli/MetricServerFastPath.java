package dev.sandboxmetrics.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The usual {@code metric-server} command line, parsed without picocli. Called by {@link Main#run} before it
 * builds any picocli model, for the server's memory rather than its start: a class once loaded stays loaded
 * for the life of the JVM, and picocli's (its ~170 classes, the annotation proxies and reflection it uses,
 * the {@code java.sql} types its converters name) cost the server ~4 MB of metaspace, class space and
 * symbols for as long as it runs (measured 2026-12-05 with NMT: metaspace 0.8 against 3.9 MB for the same
 * command line through the fast path and through picocli; README, Memory).
 *
 * <p>It follows {@link ExportMetricsFastPath}'s rules: only what scripts and unit files write (the global
 * and metric-server options in Go's and GNU spellings, {@code -name=value}, {@code --name value},
 * {@code -bool}, {@code --bool=false}) is accepted; anything else (help, version, {@code @}-files,
 * {@code --}, an unknown or malformed option or value, an argument that is not an option, a value picocli
 * might read differently) is declined (null) and goes to picocli exactly as before, so every message and exit
 * code stays picocli's. The checks of the values' ranges stay in {@link MetricServerCommand#call}, which
 * both paths run. MetricServerFastPathTest checks on generated command lines that whatever this accepts,
 * picocli parses to the same values.
 */
final class MetricServerFastPath {
  private final String[] args;
  private int next;

  private MetricServerFastPath(String[] args) {
    this.args = args;
  }

  /**
   * Parses normalized arguments into {@code main}'s global options and a new metric-server command whose
   * parent is {@code main}; null (and {@code main} partly set, to be discarded) when picocli must decide.
   */
  static MetricServerCommand parse(Main main, String[] args) {
    for (String a : args) {
      if (a.startsWith("@")) {
        return null; // picocli reads arguments from that file
      }
    }
    try {
      return new MetricServerFastPath(args).parse(main);
    } catch (Decline d) {
      return null;
    }
  }

  private MetricServerCommand parse(Main main) {
    while (next < args.length && args[next].startsWith("-")) {
      String arg = gnu(args[next++]);
      int eq = arg.indexOf('=');
      switch (eq < 0 ? arg : arg.substring(0, eq)) {
        case Main.ROOT -> main.root = value(arg, eq);
        case Main.METRIC_SERVER -> main.metricServer = value(arg, eq);
        case Main.DEBUG_LOG -> main.debugLog = value(arg, eq);
        case Main.DEBUG -> main.debug = bool(arg, eq);
        default -> throw Decline.INSTANCE;
      }
    }
    if (next == args.length || !args[next++].equals("metric-server")) {
      throw Decline.INSTANCE;
    }
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
    while (next < args.length) {
      String arg = args[next++];
      if (!arg.startsWith("-")) {
        throw Decline.INSTANCE; // metric-server takes no arguments: picocli's error
      }
      arg = gnu(arg);
      int eq = arg.indexOf('=');
      switch (eq < 0 ? arg : arg.substring(0, eq)) {
        case MetricServerCommand.EXPORTER_PREFIX -> cmd.exporterPrefix = value(arg, eq);
        case MetricServerCommand.PID_FILE -> cmd.pidFile = path(value(arg, eq));
        case MetricServerCommand.ALLOW_PROFILING -> cmd.allowProfiling = bool(arg, eq);
        case MetricServerCommand.ALLOW_UNKNOWN_ROOT -> cmd.allowUnknownRoot = bool(arg, eq);
        case MetricServerCommand.EXPORT_TIMEOUT -> cmd.exportTimeout = duration(value(arg, eq));
        case MetricServerCommand.SANDBOX_TIMEOUT -> cmd.sandboxTimeout = duration(value(arg, eq));
        case MetricServerCommand.MAX_PARALLEL_QUERIES -> cmd.maxParallelQueries = decimalInt(value(arg, eq));
        case MetricServerCommand.MAX_REPLY_BYTES -> cmd.maxReplyBytes = decimalInt(value(arg, eq));
        case MetricServerCommand.MAX_REPLY_BYTES_IN_FLIGHT -> cmd.maxReplyBytesInFlight = decimalLong(value(arg, eq));
        case MetricServerCommand.MAX_SERIES_PER_SANDBOX -> cmd.maxSeriesPerSandbox = decimalLong(value(arg, eq));
        case MetricServerCommand.RESCAN_INTERVAL -> cmd.rescanInterval = duration(value(arg, eq));
        case MetricServerCommand.HTTP_TIMEOUT -> cmd.httpTimeout = duration(value(arg, eq));
        case MetricServerCommand.GZIP_LEVEL -> cmd.gzipLevel = decimalInt(value(arg, eq));
        case MetricServerCommand.SELF_METRICS -> cmd.selfMetrics = bool(arg, eq);
        case MetricServerCommand.MAX_CONNECTIONS -> cmd.maxConnections = decimalInt(value(arg, eq));
        case MetricServerCommand.SOCKET_MODE -> cmd.socketMode = value(arg, eq);
        case MetricServerCommand.ALLOW_PEER_UID -> ids(value(arg, eq), cmd.allowPeerUids);
        case MetricServerCommand.ALLOW_PEER_GID -> ids(value(arg, eq), cmd.allowPeerGids);
        case MetricServerCommand.CONTAINER_STATS -> cmd.containerStats = bool(arg, eq);
        case MetricServerCommand.CGROUP_ROOT -> cmd.cgroupRoot = path(value(arg, eq));
        default -> throw Decline.INSTANCE;
      }
    }
    return cmd;
  }

  /**
   * {@code -name...} as {@code --name...}: a one-dash name this class does not know (a short option such
   * as {@code -h}, or an unknown one) becomes an unknown {@code --} name and is declined all the same.
   */
  private static String gnu(String arg) {
    return arg.startsWith("--") ? arg : "-" + arg;
  }

  /** The value after '=', or the next argument when it cannot be mistaken for an option or a subcommand. */
  private String value(String arg, int eq) {
    if (eq >= 0) {
      return arg.substring(eq + 1);
    }
    if (next == args.length) {
      throw Decline.INSTANCE;
    }
    String v = args[next];
    if (v.startsWith("-") || Main.SUBCOMMANDS.contains(v)) {
      throw Decline.INSTANCE;
    }
    next++;
    return v;
  }

  /**
   * A boolean option: alone it means true; {@code =true} or {@code =false} in any case. A separate
   * {@code true} or {@code false} after it is picocli's to read (it would take it as the value).
   */
  private boolean bool(String arg, int eq) {
    if (eq >= 0) {
      String word = arg.substring(eq + 1);
      if (!isBooleanWord(word)) {
        throw Decline.INSTANCE;
      }
      return word.equalsIgnoreCase("true");
    }
    if (next < args.length && isBooleanWord(args[next])) {
      throw Decline.INSTANCE;
    }
    return true;
  }

  private static boolean isBooleanWord(String s) {
    return s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false");
  }

  private static Duration duration(String s) {
    try {
      return GoDurationConverter.parse(s);
    } catch (RuntimeException e) {
      throw Decline.INSTANCE; // picocli words the error
    }
  }

  /** Empty or not a path (a NUL character): picocli's to report. */
  private static Path path(String s) {
    if (s.isEmpty()) {
      throw Decline.INSTANCE;
    }
    try {
      return Path.of(s);
    } catch (InvalidPathException e) {
      throw Decline.INSTANCE;
    }
  }

  /** A comma-separated list of decimal IDs, added to {@code into} (the option is repeatable). */
  private static void ids(String s, List<Integer> into) {
    for (String part : s.split(",", -1)) {
      into.add(decimalInt(part));
    }
  }

  private static int decimalInt(String s) {
    long v = decimalLong(s);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw Decline.INSTANCE;
    }
    return (int) v;
  }

  /** Plain decimal only (no sign but '-', no leading zeros, no hex): the forms every parser agrees on. */
  private static long decimalLong(String s) {
    int start = s.startsWith("-") ? 1 : 0;
    int n = s.length() - start;
    if (n == 0 || n > 18 || (n > 1 && s.charAt(start) == '0')) {
      throw Decline.INSTANCE;
    }
    for (int i = start; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        throw Decline.INSTANCE;
      }
    }
    return Long.parseLong(s);
  }

  /** Not an error: the signal to leave this command line to picocli. */
  private static final class Decline extends RuntimeException {
    static final Decline INSTANCE = new Decline();

    private Decline() {
      super(null, null, false, false);
    }
  }
}
