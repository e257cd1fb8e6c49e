package dev.sandboxmetrics.snapshot.golang;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Filters in comment headers and names in messages are quoted as Go's %q quotes them (strconv.Quote). */
class GoStringsTest {
  @Test
  void quotesLikeStrconvQuote() {
    assertThat(GoStrings.quote("fs_.*")).isEqualTo("\"fs_.*\"");
    assertThat(GoStrings.quote("a\"b\\c")).isEqualTo("\"a\\\"b\\\\c\"");
    assertThat(GoStrings.quote("tab\tnew\nline")).isEqualTo("\"tab\\tnew\\nline\"");
    assertThat(GoStrings.quote("\u0001")).isEqualTo("\"\\x01\"");
    assertThat(GoStrings.quote("\u007f")).isEqualTo("\"\\x7f\"");
    assertThat(GoStrings.quote("é☃")).isEqualTo("\"é☃\"");
    assertThat(GoStrings.quote("\u00a0")).isEqualTo("\"\\u00a0\"");
    assertThat(GoStrings.quote("\ud83d\ude00")).isEqualTo("\"\ud83d\ude00\"");
    assertThat(GoStrings.quote("\u200b")).isEqualTo("\"\\u200b\"");
    assertThat(GoStrings.quote("\u0007\u000b")).isEqualTo("\"\\a\\v\"");
  }
}
