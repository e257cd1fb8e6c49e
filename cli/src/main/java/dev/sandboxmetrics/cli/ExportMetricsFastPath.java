package dev.sandboxmetrics.cli;

/**
 * The usual {@code export-metrics} command line, parsed without picocli. Called by {@link Main#run} before
 * it builds any picocli model: picocli's start-up costs more than everything else a one-shot
 * {@code export-metrics} does. Measured on JDK 17 with the launcher's CDS archive (2026-12-05, main
 * thread's CPU time): this parse ~4 ms; picocli with the annotated Main and export-metrics models ~90-110 ms
 * ({@code new CommandLine(new Main())} alone ~60-70: annotation proxies, reflection, picocli's built-in
 * converters, and verifying picocli's Java 5 class files, which CDS cannot pre-verify); even models built
 * with picocli's programmatic API ~36-40 ms. Option names are the command classes' constants.
 *
 * <p>It accepts only what scripts write: the global and export-metrics options in Go's and GNU spellings
 * ({@code -name=value}, {@code --name value}, {@code -bool}, {@code --bool=false}, as {@link GoFlags} would
 * rewrite them for picocli), and one container ID. Anything else is declined (returns null) and goes to
 * picocli exactly as before: help, version, {@code @}-files, {@code --}, an unknown or malformed option or
 * value, a missing or second container ID, a value that picocli might read differently. So every message
 * and exit code stays picocli's; ExportMetricsFastPathTest checks on generated command lines that whatever
 * this accepts, picocli parses to the same values.
 */
final class ExportMetricsFastPath {
  private final String[] args;
  private int next;

  private ExportMetricsFastPath(String[] args) {
    this.args = args;
  }

  /**
   * Parses normalized arguments into {@code main}'s global options and a new export-metrics command whose
   * parent is {@code main}; null (and {@code main} partly set, to be discarded) when picocli must decide.
   */
  static ExportMetricsCommand parse(Main main, String[] args) {
    for (String a : args) {
      if (a.startsWith("@")) {
        return null; // picocli reads arguments from that file
      }
    }
    try {
      return new ExportMetricsFastPath(args).parse(main);
    } catch (Decline d) {
      return null;
    }
  }

  private ExportMetricsCommand parse(Main main) {
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
    if (next == args.length || !args[next++].equals("export-metrics")) {
      throw Decline.INSTANCE;
    }
    ExportMetricsCommand cmd = new ExportMetricsCommand();
    cmd.global = main;
    cmd.exporterPrefix = ExportMetricsCommand.DEFAULT_EXPORTER_PREFIX;
    cmd.sandboxMetricsFilter = ExportMetricsCommand.DEFAULT_FILTER;
    cmd.timeout = GoDurationConverter.parse(ExportMetricsCommand.DEFAULT_TIMEOUT_FLAG);
    cmd.maxReplyBytes = Integer.parseInt(ExportMetricsCommand.DEFAULT_MAX_REPLY_BYTES);
    cmd.verify = false;
    while (next < args.length) {
      String arg = args[next++];
      if (!arg.startsWith("-")) {
        if (cmd.containerId != null) {
          throw Decline.INSTANCE; // picocli's error for a second ID
        }
        cmd.containerId = arg;
        continue;
      }
      arg = gnu(arg);
      int eq = arg.indexOf('=');
      switch (eq < 0 ? arg : arg.substring(0, eq)) {
        case ExportMetricsCommand.EXPORTER_PREFIX -> cmd.exporterPrefix = value(arg, eq);
        case ExportMetricsCommand.SANDBOX_METRICS_FILTER -> cmd.sandboxMetricsFilter = value(arg, eq);
        case ExportMetricsCommand.TIMEOUT -> cmd.timeout = duration(value(arg, eq));
        case ExportMetricsCommand.MAX_REPLY_BYTES -> cmd.maxReplyBytes = decimalInt(value(arg, eq));
        case ExportMetricsCommand.VERIFY -> cmd.verify = bool(arg, eq);
        default -> throw Decline.INSTANCE;
      }
    }
    if (cmd.containerId == null) {
      throw Decline.INSTANCE;
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
      return booleanWord(arg.substring(eq + 1));
    }
    if (next < args.length && isBooleanWord(args[next])) {
      throw Decline.INSTANCE;
    }
    return true;
  }

  private static boolean isBooleanWord(String s) {
    return s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false");
  }

  private static boolean booleanWord(String s) {
    if (!isBooleanWord(s)) {
      throw Decline.INSTANCE;
    }
    return s.equalsIgnoreCase("true");
  }

  private static java.time.Duration duration(String s) {
    try {
      return GoDurationConverter.parse(s);
    } catch (RuntimeException e) {
      throw Decline.INSTANCE; // picocli words the error
    }
  }

  /** Plain decimal only (no sign but '-', no leading zeros, no hex): the forms every int parser agrees on. */
  private static int decimalInt(String s) {
    int start = s.startsWith("-") ? 1 : 0;
    int n = s.length() - start;
    if (n == 0 || n > 10 || (n > 1 && s.charAt(start) == '0')) {
      throw Decline.INSTANCE;
    }
    for (int i = start; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        throw Decline.INSTANCE;
      }
    }
    long v = Long.parseLong(s);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw Decline.INSTANCE;
    }
    return (int) v;
  }

  /** Not an error: the signal to leave this command line to picocli. */
  private static final class Decline extends RuntimeException {
    static final Decline INSTANCE = new Decline();

    private Decline() {
      super(null, null, false, false);
    }
  }
}
