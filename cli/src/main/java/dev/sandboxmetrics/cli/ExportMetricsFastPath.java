package dev.sandboxmetrics.cli;

import static dev.sandboxmetrics.cli.FastPathArgs.decimalInt;
import static dev.sandboxmetrics.cli.FastPathArgs.duration;

import dev.sandboxmetrics.cli.FastPathArgs.Decline;

/**
 * The usual {@code export-metrics} command line, parsed without picocli. Called by {@link Main#run} before
 * it builds any picocli model: picocli's start-up costs more than everything else a one-shot
 * {@code export-metrics} does. Measured on JDK 17 with the launcher's CDS archive (2026-12-05, main
 * thread's CPU time): this parse ~4 ms; picocli with the annotated Main and export-metrics models ~90-110 ms
 * ({@code new CommandLine(new Main())} alone ~60-70: annotation proxies, reflection, picocli's built-in
 * converters, and verifying picocli's Java 5 class files, which CDS cannot pre-verify); even models built
 * with picocli's programmatic API ~36-40 ms. Option names are the command classes' constants.
 *
 * <p>It accepts only what scripts write ({@link FastPathArgs}'s rules): the global and export-metrics options
 * in Go's and GNU spellings (as {@link GoFlags} would rewrite them for picocli), and one container ID.
 * Anything else is declined (returns null) and goes to picocli exactly as before: help, version,
 * {@code @}-files, {@code --}, an unknown or malformed option or value, a missing or second container ID, a
 * value that picocli might read differently. So every message and exit code stays picocli's; ExportMetricsFastPathTest checks on generated command lines that whatever
 * this accepts, picocli parses to the same values.
 */
final class ExportMetricsFastPath {
  private ExportMetricsFastPath() {}

  /**
   * Parses normalized arguments into {@code main}'s global options and a new export-metrics command whose
   * parent is {@code main}; null (and {@code main} partly set, to be discarded) when picocli must decide.
   */
  static ExportMetricsCommand parse(Main main, String[] args) {
    return FastPathArgs.read(args, in -> parse(main, in));
  }

  private static ExportMetricsCommand parse(Main main, FastPathArgs in) {
    in.globalOptionsThen(main, "export-metrics");
    ExportMetricsCommand cmd = new ExportMetricsCommand();
    cmd.global = main;
    cmd.exporterPrefix = ExportMetricsCommand.DEFAULT_EXPORTER_PREFIX;
    cmd.sandboxMetricsFilter = ExportMetricsCommand.DEFAULT_FILTER;
    cmd.timeout = GoDurationConverter.parse(ExportMetricsCommand.DEFAULT_TIMEOUT_FLAG);
    cmd.maxReplyBytes = Integer.parseInt(ExportMetricsCommand.DEFAULT_MAX_REPLY_BYTES);
    cmd.verify = false;
    while (in.hasNext()) {
      if (!in.atOption()) {
        if (cmd.containerId != null) {
          throw Decline.INSTANCE; // picocli's error for a second ID
        }
        cmd.containerId = in.nextArgument();
        continue;
      }
      String arg = in.nextOption();
      switch (FastPathArgs.name(arg)) {
        case ExportMetricsCommand.EXPORTER_PREFIX -> cmd.exporterPrefix = in.value(arg);
        case ExportMetricsCommand.SANDBOX_METRICS_FILTER -> cmd.sandboxMetricsFilter = in.value(arg);
        case ExportMetricsCommand.TIMEOUT -> cmd.timeout = duration(in.value(arg));
        case ExportMetricsCommand.MAX_REPLY_BYTES -> cmd.maxReplyBytes = decimalInt(in.value(arg));
        case ExportMetricsCommand.VERIFY -> cmd.verify = in.bool(arg);
        default -> throw Decline.INSTANCE;
      }
    }
    if (cmd.containerId == null) {
      throw Decline.INSTANCE;
    }
    return cmd;
  }
}
