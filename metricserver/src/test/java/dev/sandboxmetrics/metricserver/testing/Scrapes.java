package dev.sandboxmetrics.metricserver.testing;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Reading an exposition the way a test asserts on it: which sandboxes have data, meta values, labels. */
public final class Scrapes {
  private static final Pattern SANDBOX = Pattern.compile("sandbox=\"([^\"]*)\"");

  private Scrapes() {}

  /** The sample lines (no comments, no blank lines). */
  public static List<String> samples(String exposition) {
    return exposition.lines().filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
  }

  /** Sorted distinct sandbox IDs that have sandbox data (not meta lines) in the exposition. */
  public static List<String> sandboxesWithData(String exposition, String prefix) {
    return samples(exposition).stream()
        .filter(l -> l.startsWith(prefix) && !l.startsWith(prefix + "meta_"))
        .map(Scrapes::sandboxOf)
        .filter(s -> s != null)
        .distinct()
        .sorted()
        .collect(Collectors.toList());
  }

  /** Sorted sandbox IDs of one meta metric's lines, e.g. {@code sandbox_presence}. */
  public static List<String> sandboxesWithMeta(String exposition, String metaName) {
    String start = "runsc_meta_" + metaName + "{";
    return samples(exposition).stream()
        .filter(l -> l.startsWith(start))
        .map(Scrapes::sandboxOf)
        .sorted()
        .collect(Collectors.toList());
  }

  /** The value of an unlabelled meta metric, e.g. {@code num_sandboxes_broken_metrics}. */
  public static String metaValue(String exposition, String metaName) {
    String start = "runsc_meta_" + metaName + " ";
    return samples(exposition).stream()
        .filter(l -> l.startsWith(start))
        .map(l -> l.split(" ")[1])
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line for " + metaName));
  }

  /** A label's value on the first line that starts with {@code linePrefix}. */
  public static String label(String exposition, String linePrefix, String label) {
    Pattern p = Pattern.compile("[{,]" + Pattern.quote(label) + "=\"([^\"]*)\"");
    for (String l : samples(exposition)) {
      if (l.startsWith(linePrefix)) {
        Matcher m = p.matcher(l);
        if (m.find()) {
          return m.group(1);
        }
      }
    }
    throw new AssertionError("no line starting with " + linePrefix + " has label " + label);
  }

  private static String sandboxOf(String line) {
    Matcher m = SANDBOX.matcher(line);
    return m.find() ? m.group(1) : null;
  }
}
