package dev.sandboxmetrics.metricserver.scrape;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.sandboxmetrics.snapshot.MetricNameFilter;

/**
 * The two regular expressions a scrape may pass ({@code runsc-sandbox-metrics-filter} and
 * {@code runsc-capability-filter}), compiled with RE2/J, with runsc's cache of the last valid expression of
 * each: a scraper sends the same expressions at every scrape, so they are compiled once, not at every
 * request. Thread-safe: concurrent scrapes share it.
 */
final class ScrapeFilters {
  /** An expression that does not compile; the message is meant for the HTTP 400 body. */
  static final class InvalidFilterException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidFilterException(String message) {
      super(message);
    }
  }

  private record CachedCapabilityFilter(String expression, Pattern pattern) {}

  private volatile MetricNameFilter lastMetricFilter = MetricNameFilter.ALL;
  private volatile CachedCapabilityFilter lastCapabilityFilter = new CachedCapabilityFilter("", null);

  /** The metrics filter for an expression ("" keeps everything). */
  MetricNameFilter metricFilter(String expression) throws InvalidFilterException {
    if (expression.isEmpty()) {
      return MetricNameFilter.ALL;
    }
    MetricNameFilter last = lastMetricFilter;
    if (last.expression().equals(expression)) {
      return last;
    }
    try {
      MetricNameFilter compiled = MetricNameFilter.compile(expression);
      lastMetricFilter = compiled;
      return compiled;
    } catch (IllegalArgumentException e) {
      throw new InvalidFilterException("provided metric filter is not a valid regular expression: " + e.getMessage());
    }
  }

  /** The capability filter for an expression, or null ("" keeps every capability). Unanchored, like Go's MatchString. */
  Pattern capabilityFilter(String expression) throws InvalidFilterException {
    if (expression.isEmpty()) {
      return null;
    }
    CachedCapabilityFilter last = lastCapabilityFilter;
    if (last.expression().equals(expression)) {
      return last.pattern();
    }
    try {
      Pattern compiled = Pattern.compile(expression);
      lastCapabilityFilter = new CachedCapabilityFilter(expression, compiled);
      return compiled;
    } catch (PatternSyntaxException e) {
      throw new InvalidFilterException(
          "provided capability filter is not a valid regular expression: " + e.getDescription());
    }
  }
}
