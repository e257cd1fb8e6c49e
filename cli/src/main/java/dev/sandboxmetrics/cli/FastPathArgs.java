package dev.sandboxmetrics.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * The reading rules the fast paths share ({@link ExportMetricsFastPath}, {@link MetricServerFastPath}): a
 * cursor over the normalized arguments and the value readers, each of which accepts only forms that picocli
 * reads the same way and throws {@link Decline} for anything else, so that the command line goes to picocli
 * exactly as before. The accepted forms are what scripts and unit files write: the option names in Go's and
 * GNU spellings, {@code -name=value}, {@code --name value}, {@code -bool}, {@code --bool=false}.
 */
final class FastPathArgs {
  private final String[] args;
  private int next;

  private FastPathArgs(String[] args) {
    this.args = args;
  }

  /**
   * What {@code reader} makes of {@code args}, or null when picocli must read them: they name an
   * {@code @}-file (picocli reads arguments from it), or the reader declined.
   */
  static <T> T read(String[] args, Function<FastPathArgs, T> reader) {
    for (String a : args) {
      if (a.startsWith("@")) {
        return null;
      }
    }
    try {
      return reader.apply(new FastPathArgs(args));
    } catch (Decline d) {
      return null;
    }
  }

  /** Reads the global options into {@code main}, then requires {@code command} as the next argument. */
  void globalOptionsThen(Main main, String command) {
    while (next < args.length && args[next].startsWith("-")) {
      String arg = nextOption();
      switch (name(arg)) {
        case Main.ROOT -> main.root = value(arg);
        case Main.METRIC_SERVER -> main.metricServer = value(arg);
        case Main.DEBUG_LOG -> main.debugLog = value(arg);
        case Main.DEBUG -> main.debug = bool(arg);
        default -> throw Decline.INSTANCE;
      }
    }
    if (next == args.length || !args[next++].equals(command)) {
      throw Decline.INSTANCE;
    }
  }

  boolean hasNext() {
    return next < args.length;
  }

  /** Whether the next argument is an option (a positional argument otherwise). */
  boolean atOption() {
    return args[next].startsWith("-");
  }

  /** The next argument, a positional one. */
  String nextArgument() {
    return args[next++];
  }

  /**
   * The next argument, an option, as {@code --name...}: a one-dash name the caller does not know (a short
   * option such as {@code -h}, or an unknown one) becomes an unknown {@code --} name and is declined all the
   * same.
   */
  String nextOption() {
    String arg = args[next++];
    return arg.startsWith("--") ? arg : "-" + arg;
  }

  /** An option's name: what comes before '=', or all of it. */
  static String name(String option) {
    int eq = option.indexOf('=');
    return eq < 0 ? option : option.substring(0, eq);
  }

  /** The value after '=', or the next argument when it cannot be mistaken for an option or a subcommand. */
  String value(String option) {
    int eq = option.indexOf('=');
    if (eq >= 0) {
      return option.substring(eq + 1);
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
  boolean bool(String option) {
    int eq = option.indexOf('=');
    if (eq >= 0) {
      String word = option.substring(eq + 1);
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

  static Duration duration(String s) {
    try {
      return GoDurationConverter.parse(s);
    } catch (RuntimeException e) {
      throw Decline.INSTANCE; // picocli words the error
    }
  }

  /** Empty or not a path (a NUL character): picocli's to report. */
  static Path path(String s) {
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
  static void ids(String s, List<Integer> into) {
    for (String part : s.split(",", -1)) {
      into.add(decimalInt(part));
    }
  }

  static int decimalInt(String s) {
    long v = decimalLong(s);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw Decline.INSTANCE;
    }
    return (int) v;
  }

  /** Plain decimal only (no sign but '-', no leading zeros, no hex): the forms every parser agrees on. */
  static long decimalLong(String s) {
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
  static final class Decline extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final Decline INSTANCE = new Decline();

    private Decline() {
      super(null, null, false, false);
    }
  }
}
