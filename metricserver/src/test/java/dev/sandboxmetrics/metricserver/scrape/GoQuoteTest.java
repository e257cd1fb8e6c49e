package dev.sandboxmetrics.metricserver.scrape;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The filter in the comment header is quoted as Go's %q quotes it (strconv.Quote). */
class GoQuoteTest {
  @Test
  void quotesLikeStrconvQuote() {
    assertThat(GoQuote.quote("fs_.*")).isEqualTo("\"fs_.*\"");
    assertThat(GoQuote.quote("a\"b\\c")).isEqualTo("\"a\\\"b\\\\c\"");
    assertThat(GoQuote.quote("tab\tnew\nline")).isEqualTo("\"tab\\tnew\\nline\"");
    assertThat(GoQuote.quote("\u0001")).isEqualTo("\"\\x01\"");
    assertThat(GoQuote.quote("\u007f")).isEqualTo("\"\\x7f\"");
    assertThat(GoQuote.quote("é☃")).isEqualTo("\"é☃\"");
    assertThat(GoQuote.quote("\u00a0")).isEqualTo("\"\\u00a0\"");
    assertThat(GoQuote.quote("\ud83d\ude00")).isEqualTo("\"\ud83d\ude00\"");
  }
}
