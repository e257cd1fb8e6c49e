package dev.sandboxmetrics.metricserver.scrape;

import com.google.re2j.Pattern;
import dev.sandboxmetrics.snapshot.BoundedRegex;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.UntrustedText;

/**
 * The two regular expressions a scrape may pass ({@code runsc-sandbox-metrics-filter} and
 * {@code runsc-capability-filter}), compiled with RE2/J, with runsc's cache of the last valid expression of
 * each: a scraper sends the same expressions at every scrape, so they are compiled once, not at every
 * request. Thread-safe: concurrent scrapes share it.
 *
 * <p>Both expressions come from whoever can reach the server, so both go through {@link BoundedRegex}
 * (Go's repeat-count rule, a bound on the compiled program), and only a small one is cached: a cache must not
 * keep the largest program a client could make alive between scrapes. A large valid one is compiled once per
 * scrape (never once per sandbox: the scrape passes the compiled filter to every query).
 */
final class ScrapeFilters {
  /** An expression that does not compile; the message is meant for the HTTP 400 body. */
  static final class InvalidFilterException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidFilterException(String message) {
      super(message);
    }
  }

  /** The largest expression (in estimated instructions) kept between scrapes. */
  static final long MAX_CACHED_PROGRAM_SIZE = 2_000;

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
      if (BoundedRegex.check(expression) <= MAX_CACHED_PROGRAM_SIZE) {
        lastMetricFilter = compiled;
      }
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
      Pattern compiled = BoundedRegex.compile(expression);
      if (BoundedRegex.check(expression) <= MAX_CACHED_PROGRAM_SIZE) {
        lastCapabilityFilter = new CachedCapabilityFilter(expression, compiled);
      }
      return compiled;
    } catch (IllegalArgumentException e) {
      throw new InvalidFilterException("provided capability filter is not a valid regular expression: "
          + UntrustedText.quote(expression) + ": " + e.getMessage());
    }
  }
}
