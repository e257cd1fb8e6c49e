package dev.sandboxmetrics.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Rewrites the flag spellings of Go's {@code flag} package, which runsc users have in their scripts, into
 * the GNU spellings picocli parses: a long option may start with one dash ({@code -root=DIR},
 * {@code -root DIR}, {@code -debug}); {@code --} ends the options. Only names of options we know are
 * rewritten, so a positional argument that happens to start with a dash is left alone. Called by
 * {@link Main} before picocli parses, with the names of the models built for the invocation
 * ({@link Main#longOptionNames}).
 */
final class GoFlags {
  private GoFlags() {}

  /**
   * @param longNames the long option names of every command, without dashes ({@code root},
   *     {@code exporter-prefix}, {@code help}, ...)
   */
  static String[] normalize(String[] args, Set<String> longNames) {
    List<String> out = new ArrayList<>(args.length);
    boolean optionsEnded = false;
    for (String arg : args) {
      if (optionsEnded) {
        out.add(arg);
        continue;
      }
      if (arg.equals("--")) {
        optionsEnded = true;
        out.add(arg);
        continue;
      }
      if (arg.length() > 2 && arg.charAt(0) == '-' && arg.charAt(1) != '-') {
        int eq = arg.indexOf('=');
        String name = eq < 0 ? arg.substring(1) : arg.substring(1, eq);
        if (longNames.contains(name)) {
          out.add("-" + arg);
          continue;
        }
      }
      out.add(arg);
    }
    return out.toArray(new String[0]);
  }
}
