package dev.sandboxmetrics.metricserver.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The escaping and shortening that keep sandbox-chosen text from changing the page or the terminal. */
class StatusFormatsTest {
  @Test
  void htmlEscapingCoversTextAndAttributes() {
    assertThat(StatusFormats.escape("<a href='x' title=\"y\">&</a>"))
        .isEqualTo("&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;");
    assertThat(StatusFormats.escape("plain")).isEqualTo("plain");
    assertThat(StatusFormats.escape("nul\0")).isEqualTo("nul\uFFFD");
  }

  @Test
  void textFormKeepsEachRowOnOneLineAndTheTerminalUntouched() {
    assertThat(StatusFormats.printable("a\nb\tc\r\u001b[2J\u007f\u0085\u2028"))
        .isEqualTo("a\\nb\\tc\\r\\u001b[2J\\u007f\\u0085\\u2028");
    assertThat(StatusFormats.printable("Zoë ✓")).isEqualTo("Zoë ✓");
  }

  @Test
  void aHugeErrorIsKeptShortWithoutSplittingACharacter() {
    String huge = "x".repeat(SandboxStatus.MAX_ERROR_CHARS - 1) + "😀" + "y".repeat(10_000);

    String kept = SandboxStatus.shortened(huge);

    assertThat(kept).startsWith("x".repeat(SandboxStatus.MAX_ERROR_CHARS - 1) + "... (")
        .endsWith(" more characters)").hasSizeLessThan(SandboxStatus.MAX_ERROR_CHARS + 40);
    assertThat(SandboxStatus.shortened("short")).isEqualTo("short");
  }

  @Test
  void acceptHeaderPicksTheBestFormatItNames() {
    assertThat(StatusEndpoint.format("", "")).isEqualTo(StatusEndpoint.Format.TEXT);
    assertThat(StatusEndpoint.format("", "*/*")).isEqualTo(StatusEndpoint.Format.TEXT);
    assertThat(StatusEndpoint.format("", "application/json;q=0.9, text/html;q=0.8"))
        .isEqualTo(StatusEndpoint.Format.JSON);
    assertThat(StatusEndpoint.format("", "image/png")).isEqualTo(StatusEndpoint.Format.TEXT);
    assertThat(StatusEndpoint.format("JSON", "text/html")).isEqualTo(StatusEndpoint.Format.JSON);
  }
}
