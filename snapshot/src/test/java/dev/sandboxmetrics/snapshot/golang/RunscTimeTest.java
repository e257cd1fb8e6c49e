package dev.sandboxmetrics.snapshot.golang;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** runsc's times: RFC 3339 as Go reads and writes it, and Go's {@code time.Time.String()}. */
class RunscTimeTest {
  @Test
  void readsAnyOffsetAndAnyNumberOfFractionDigits() {
    assertThat(RunscTime.parseRfc3339("2023-01-25T15:46:50.469403696-08:00"))
        .isEqualTo(Instant.parse("2023-01-25T23:46:50.469403696Z"));
    assertThat(RunscTime.parseRfc3339("2024-01-02T03:04:05Z")).isEqualTo(Instant.parse("2024-01-02T03:04:05Z"));
    assertThat(RunscTime.parseRfc3339("2024-01-02T03:04:05.6Z"))
        .isEqualTo(Instant.parse("2024-01-02T03:04:05.600Z"));
    assertThat(RunscTime.parseRfc3339("2024-01-02T03:04:05.123456789+05:30"))
        .isEqualTo(Instant.parse("2024-01-01T21:34:05.123456789Z"));
    // Go ignores digits beyond nanoseconds rather than failing.
    assertThat(RunscTime.parseRfc3339("2024-01-02T03:04:05.1234567891234Z"))
        .isEqualTo(Instant.parse("2024-01-02T03:04:05.123456789Z"));
    assertThat(RunscTime.parseRfc3339("0001-01-01T00:00:00Z")).isEqualTo(RunscTime.GO_ZERO_TIME);
    assertThat(RunscTime.GO_ZERO_TIME).isEqualTo(Instant.parse("0001-01-01T00:00:00Z"));
    assertThat(RunscTime.parseRfc3339("2024-02-29T23:59:59-23:59"))
        .isEqualTo(Instant.parse("2024-03-01T23:58:59Z"));
  }

  @Test
  void rejectsWhatGoRejects() {
    String[] bad = {
      "2024-01-02T03:04:05", "2024-01-02 03:04:05Z", "2024-1-02T03:04:05Z", "2024-13-02T03:04:05Z",
      "2023-02-29T03:04:05Z", "2024-01-02T24:00:00Z", "2024-01-02T03:60:05Z", "2024-01-02T03:04:60Z",
      "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05+0100", "2024-01-02T03:04:05+24:00", "2024-01-02T03:04:05Zjunk",
      "2024-01-02T03:04:05z", "", "x", "+12024-01-02T03:04:05Z",
    };
    for (String s : bad) {
      assertThatThrownBy(() -> RunscTime.parseRfc3339(s)).as(s).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void writesLikeGosMarshalJson() {
    assertThat(RunscTime.formatRfc3339Nano(Instant.parse("2024-01-02T03:04:05.678Z")))
        .isEqualTo("2024-01-02T03:04:05.678Z");
    assertThat(RunscTime.formatRfc3339Nano(Instant.parse("2024-01-02T03:04:05Z"))).isEqualTo("2024-01-02T03:04:05Z");
    assertThat(RunscTime.formatRfc3339Nano(Instant.parse("2024-01-02T03:04:05.000000001Z")))
        .isEqualTo("2024-01-02T03:04:05.000000001Z");
    assertThat(RunscTime.formatRfc3339Nano(Instant.parse("2024-01-02T03:04:05.120Z")))
        .isEqualTo("2024-01-02T03:04:05.12Z");
    assertThat(RunscTime.formatRfc3339Nano(RunscTime.GO_ZERO_TIME)).isEqualTo("0001-01-01T00:00:00Z");
    assertThatThrownBy(() -> RunscTime.formatRfc3339Nano(Instant.parse("+10000-01-01T00:00:00Z")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void writesInTheGivenZoneWithItsOffset() {
    // As Go's MarshalJSON writes a time in its location (the simulator writes its sandboxes' times so).
    Instant t = Instant.parse("2023-01-25T23:46:50.469403696Z");
    assertThat(RunscTime.formatRfc3339Nano(t, ZoneOffset.UTC)).isEqualTo("2023-01-25T23:46:50.469403696Z");
    assertThat(RunscTime.formatRfc3339Nano(t, ZoneId.of("America/Los_Angeles")))
        .isEqualTo("2023-01-25T15:46:50.469403696-08:00");
    assertThat(RunscTime.formatRfc3339Nano(Instant.parse("2024-01-02T03:04:05Z"), ZoneOffset.ofHours(5)))
        .isEqualTo("2024-01-02T08:04:05+05:00");
  }

  @Test
  void writesLikeGosTimeString() {
    // The example of docs/runsc-protocol.md section 6: what runsc hashes into the iteration label.
    assertThat(RunscTime.formatGoString(RunscTime.parseRfc3339("2023-01-25T15:46:50.469403696-08:00")))
        .isEqualTo("2023-01-25 23:46:50.469403696 +0000 UTC");
    assertThat(RunscTime.formatGoString(Instant.parse("2024-01-02T03:04:05Z")))
        .isEqualTo("2024-01-02 03:04:05 +0000 UTC");
    assertThat(RunscTime.formatGoString(Instant.parse("2024-01-02T03:04:05.678Z")))
        .isEqualTo("2024-01-02 03:04:05.678 +0000 UTC");
    assertThat(RunscTime.formatGoString(Instant.parse("+12024-01-02T03:04:05Z")))
        .isEqualTo("12024-01-02 03:04:05 +0000 UTC");
    assertThat(RunscTime.formatGoString(Instant.parse("0099-01-02T03:04:05Z")))
        .isEqualTo("0099-01-02 03:04:05 +0000 UTC");
  }
}
