package dev.sandboxmetrics.metricserver.scrape;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.MetricNameFilter;
import org.junit.jupiter.api.Test;

/** runsc's caching of the last valid filter, and what an invalid one gives. */
class ScrapeFiltersTest {
  private final ScrapeFilters filters = new ScrapeFilters();

  @Test
  void emptyExpressionsKeepEverything() throws Exception {
    assertThat(filters.metricFilter("")).isSameAs(MetricNameFilter.ALL);
    assertThat(filters.capabilityFilter("")).isNull();
  }

  @Test
  void theSameExpressionIsCompiledOnceForConsecutiveScrapes() throws Exception {
    MetricNameFilter first = filters.metricFilter("fs_.*");
    assertThat(filters.metricFilter("fs_.*")).isSameAs(first);
    assertThat(filters.capabilityFilter("CHOWN")).isSameAs(filters.capabilityFilter("CHOWN"));
  }

  @Test
  void anInvalidExpressionIsRejectedAndDoesNotEvictTheCachedOne() throws Exception {
    MetricNameFilter cached = filters.metricFilter("fs_");
    assertThatThrownBy(() -> filters.metricFilter("fs_("))
        .isInstanceOf(ScrapeFilters.InvalidFilterException.class)
        .hasMessageStartingWith("provided metric filter is not a valid regular expression")
        .hasMessageContaining("fs_(");
    assertThat(filters.metricFilter("fs_")).isSameAs(cached);

    assertThatThrownBy(() -> filters.capabilityFilter("(?P<"))
        .isInstanceOf(ScrapeFilters.InvalidFilterException.class)
        .hasMessageStartingWith("provided capability filter is not a valid regular expression");
  }

  @Test
  void aNewExpressionReplacesTheCachedOne() throws Exception {
    MetricNameFilter a = filters.metricFilter("a");
    MetricNameFilter b = filters.metricFilter("b");
    assertThat(b.expression()).isEqualTo("b");
    assertThat(filters.metricFilter("a")).isNotSameAs(a).extracting(MetricNameFilter::expression).isEqualTo("a");
  }

  @Test
  void filtersAreUnanchoredSearchesLikeGosMatchString() throws Exception {
    assertThat(filters.metricFilter("opens").matches("fs_opens")).isTrue();
    assertThat(filters.capabilityFilter("NET").matcher("CAP_NET_RAW").find()).isTrue();
  }

  @Test
  void aLargeValidExpressionIsCompiledButNotKeptBetweenScrapes() throws Exception {
    String large = "(?:" + "a{1000}|".repeat(9) + "a{1000})"; // 10,009 instructions: valid, not small
    MetricNameFilter first = filters.metricFilter(large);
    assertThat(filters.metricFilter(large)).isNotSameAs(first);
    assertThat(filters.capabilityFilter(large)).isNotSameAs(filters.capabilityFilter(large));
    MetricNameFilter small = filters.metricFilter("fs_");
    assertThat(filters.metricFilter("fs_")).isSameAs(small);
  }
}
