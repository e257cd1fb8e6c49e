package dev.sandboxmetrics.snapshot;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * The {@code only_metrics} / {@code runsc-sandbox-metrics-filter} regular expression. runsc matches it with
 * Go's {@code MatchString}: an unanchored search in RE2 syntax, so {@code fs_} keeps {@code fs_opens} and
 * {@code gofer_fs_x} alike. Both the sandbox side (which applies it) and the client side (which checks that
 * an untrusted sandbox applied it) use this class, so they agree by construction.
 */
public final class MetricNameFilter {
  /** Keeps every metric; what an empty expression means. */
  public static final MetricNameFilter ALL = new MetricNameFilter("", null);

  private final String expression;
  private final Pattern pattern;

  private MetricNameFilter(String expression, Pattern pattern) {
    this.expression = expression;
    this.pattern = pattern;
  }

  /**
   * Compiles a filter; the empty string keeps everything.
   *
   * @throws IllegalArgumentException with RE2's explanation when the expression is invalid
   */
  public static MetricNameFilter compile(String expression) {
    if (expression == null || expression.isEmpty()) {
      return ALL;
    }
    try {
      return new MetricNameFilter(expression, Pattern.compile(expression));
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "invalid regular expression " + GoStrings.quote(expression) + ": " + e.getDescription(), e);
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
    return pattern == null || pattern.matcher(name).find();
  }

  @Override
  public String toString() {
    return expression;
  }
}
