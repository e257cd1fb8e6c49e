package dev.sandboxmetrics.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UntrustedTextTest {
  @Test
  void plainTextIsUnchanged() {
    assertThat(UntrustedText.forLog("fs_opens: counter decreased")).isEqualTo("fs_opens: counter decreased");
    assertThat(UntrustedText.forLog(null)).isEmpty();
  }

  @Test
  void controlCharactersCannotForgeALogLineOrHideText() {
    assertThat(UntrustedText.forLog("a\nWARN forged\r\t\u001b[31m\u202e\u2028\\"))
        .isEqualTo("a\\nWARN forged\\r\\t\\x1b[31m\\u202e\\u2028\\\\")
        .doesNotContain("\n");
  }

  @Test
  void longTextIsCutAndSaysHowLongItWas() {
    String s = UntrustedText.forLog("x".repeat(1_000_000));
    assertThat(s).startsWith("x".repeat(200) + " ... (1000000 characters)").hasSize(200 + 25);
    assertThat(UntrustedText.quote("y".repeat(300))).isEqualTo("\"" + "y".repeat(200) + "\" ... (300 characters)");
  }

  @Test
  void aCutDoesNotSplitASurrogatePair() {
    String s = "x".repeat(199) + "\uD83D\uDE00" + "tail";
    assertThat(UntrustedText.forLog(s)).startsWith("x".repeat(199) + " ... (");
  }
}
