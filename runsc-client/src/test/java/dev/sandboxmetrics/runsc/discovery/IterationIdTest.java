package dev.sandboxmetrics.runsc.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;

/** The iteration label must equal runsc's byte for byte; expected values were computed independently. */
class IterationIdTest {
  private static Instant t(String rfc3339) {
    return OffsetDateTime.parse(rfc3339).toInstant();
  }

  @Test
  void workedExampleOfTheSpecGivesRunscsValue() {
    Instant created = t("2023-01-25T15:46:50.469403696-08:00");
    assertThat(RunscTime.formatGoString(created)).isEqualTo("2023-01-25 23:46:50.469403696 +0000 UTC");
    assertThat(IterationId.of("32beefcafe", created)).isEqualTo("23izhfp6n11ed");
  }

  @Test
  void wholeSecondsHaveNoFraction() {
    Instant created = t("2023-01-25T15:46:50-08:00");
    assertThat(RunscTime.formatGoString(created)).isEqualTo("2023-01-25 23:46:50 +0000 UTC");
    assertThat(IterationId.of("32beefcafe", created)).isEqualTo("1r08cu02rq6q4");
  }

  @Test
  void trailingZerosOfTheFractionAreDropped() {
    Instant created = t("2023-01-25T23:46:50.469400000Z");
    assertThat(RunscTime.formatGoString(created)).isEqualTo("2023-01-25 23:46:50.4694 +0000 UTC");
    assertThat(IterationId.of("32beefcafe", created)).isEqualTo("1a3r910nctd8h");
  }

  @Test
  void oneNanosecondKeepsAllNineDigits() {
    Instant created = t("2024-02-29T00:00:00.000000001Z");
    assertThat(RunscTime.formatGoString(created)).isEqualTo("2024-02-29 00:00:00.000000001 +0000 UTC");
    assertThat(IterationId.of("sb", created)).isEqualTo("19ue7j6bp110k");
  }

  @Test
  void goZeroTimeOfAStateFileWithoutCreatedAt() {
    assertThat(RunscTime.formatGoString(RunscTime.GO_ZERO_TIME)).isEqualTo("0001-01-01 00:00:00 +0000 UTC");
    assertThat(IterationId.of("s1", RunscTime.GO_ZERO_TIME)).isEqualTo("2fgmjtmc21qhz");
  }
}
