package dev.sandboxmetrics.snapshot;

import com.google.re2j.Pattern;

/**
 * The {@code only_metrics} / {@code runsc-sandbox-metrics-filter} regular expression. runsc matches it with
 * Go's {@code MatchString}: an unanchored search in RE2 syntax, so {@code fs_} keeps {@code fs_opens} and
 * {@code gofer_fs_x} alike. Both the sandbox side (which applies it) and the client side (which checks that
 * an untrusted sandbox applied it) use this class, so they agree by construction.
 *
 * <p>The expression comes from a user or an HTTP query, so it is compiled through {@link BoundedRegex}:
 * what Go's regexp rejects (nested repeat counts above 1000) and programs too large to match quickly are
 * refused before RE2/J builds them.
 */
public final class MetricNameFilter {
  /** Keeps every metric; what an empty expression means. */
  public static final MetricNameFilter ALL = new MetricNameFilter("", null);

  /** Names remembered per filter; a sandbox's names repeat across data points and sandboxes. */
  private static final int MAX_REMEMBERED = 4096;
  private static final int MAX_REMEMBERED_NAME_CHARS = 256;

  private final String expression;
  private final Pattern pattern;
  /**
   * Match results by name: the server checks every data point of every sandbox against the filter, and
   * RE2/J's matcher costs time in proportion to the program (up to {@link BoundedRegex#MAX_PROGRAM_SIZE}),
   * so each distinct name is matched once per filter. Bounded in entries and name length.
   */
  private final java.util.concurrent.ConcurrentHashMap<String, Boolean> remembered =
      new java.util.concurrent.ConcurrentHashMap<>();

  private MetricNameFilter(String expression, Pattern pattern) {
    this.expression = expression;
    this.pattern = pattern;
  }

  /**
   * Compiles a filter; the empty string keeps everything.
   *
   * @throws IllegalArgumentException with RE2's explanation, or the limit exceeded, when the expression is
   *     invalid; the message quotes at most {@link UntrustedText#MAX_CHARS} characters of it
   */
  public static MetricNameFilter compile(String expression) {
    if (expression == null || expression.isEmpty()) {
      return ALL;
    }
    try {
      return new MetricNameFilter(expression, BoundedRegex.compile(expression));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "invalid regular expression " + UntrustedText.quote(expression) + ": " + e.getMessage(), e);
    }
  }

  /** The expression as given; "" for {@link #ALL}. */
  public String expression() {
    return expression;
  }

  public boolean isAll() {
    return pattern == null;
  }

  /** True when the expression matches anywhere in the name. */
  public boolean matches(String name) {
    if (pattern == null) {
      return true;
    }
    Boolean known = remembered.get(name);
    if (known != null) {
      return known;
    }
    boolean match = pattern.matcher(name).find();
    if (name.length() <= MAX_REMEMBERED_NAME_CHARS && remembered.size() < MAX_REMEMBERED) {
      remembered.put(name, match);
    }
    return match;
  }

  @Override
  public String toString() {
    return expression;
  }
}
