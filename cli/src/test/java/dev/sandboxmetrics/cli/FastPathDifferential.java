package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The differential check of the fast paths' tests (ExportMetricsFastPathTest, MetricServerFastPathTest):
 * generated command lines, and picocli's reading of a line a fast path accepted, global options compared.
 */
final class FastPathDifferential {
  private FastPathDifferential() {}

  /**
   * Makes 8,000 command lines from {@code seed}: up to two {@code global} entries, {@code command} nine
   * times in ten, up to four {@code commandArgs} entries (each entry a whole flag or a flag and its value).
   * Returns how many {@code acceptedAndChecked} accepted.
   */
  static int generatedLines(
      long seed, String[][] global, String command, String[][] commandArgs, Predicate<String[]> acceptedAndChecked) {
    Random random = new Random(seed);
    int accepted = 0;
    for (int round = 0; round < 8_000; round++) {
      List<String> args = new ArrayList<>();
      for (int i = random.nextInt(3); i > 0; i--) {
        args.addAll(Arrays.asList(global[random.nextInt(global.length)]));
      }
      if (random.nextInt(10) > 0) {
        args.add(command);
      }
      for (int i = random.nextInt(5); i > 0; i--) {
        args.addAll(Arrays.asList(commandArgs[random.nextInt(commandArgs.length)]));
      }
      if (acceptedAndChecked.test(args.toArray(new String[0]))) {
        accepted++;
      }
    }
    return accepted;
  }

  /**
   * Picocli's subcommand object for a line a fast path accepted, after checking that picocli takes the line
   * and reads the global options as the fast path did ({@code fast}).
   */
  @SuppressWarnings("unchecked")
  static <C> C picocliCommand(String[] rawArgs, Main fast) {
    String line = String.join(" ", rawArgs);
    ParseResult picocli;
    try {
      picocli = Main.parse(rawArgs);
    } catch (ParameterException e) {
      throw new AssertionError("fast path accepted what picocli rejects: " + line + " (" + e.getMessage() + ")");
    }
    assertThat(picocli.hasSubcommand()).as(line).isTrue();
    Main main = (Main) picocli.commandSpec().userObject();
    assertThat(List.of(fast.root, fast.metricServer, fast.debug, fast.debugLog))
        .as(line).isEqualTo(List.of(main.root, main.metricServer, main.debug, main.debugLog));
    return (C) picocli.subcommand().commandSpec().userObject();
  }
}
