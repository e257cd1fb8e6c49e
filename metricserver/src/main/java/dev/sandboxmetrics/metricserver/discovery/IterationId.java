package dev.sandboxmetrics.metricserver.discovery;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * The {@code iteration} label: tells two sandboxes apart that reused one sandbox ID. It must equal runsc's
 * value exactly, or every series would change its identity when a user switches between runsc and us
 * (docs/runsc-protocol.md section 6): the first 8 bytes of SHA-256 over {@code <sandboxID>:<createdAt>}, read as
 * a big-endian unsigned integer and written in base 36, where createdAt is the root container's creation
 * time in UTC formatted as Go's {@code time.Time.String()}.
 */
public final class IterationId {
  private IterationId() {}

  /** The iteration of sandbox {@code sandboxId} whose root container was created at {@code createdAt}. */
  public static String of(String sandboxId, Instant createdAt) {
    byte[] digest = Sha256.digest((sandboxId + ":" + goUtcString(createdAt)).getBytes(StandardCharsets.UTF_8));
    long first8 = 0;
    for (int i = 0; i < 8; i++) {
      first8 = (first8 << 8) | (digest[i] & 0xff);
    }
    return Long.toUnsignedString(first8, 36);
  }

  /**
   * Go's {@code t.UTC().String()}: {@code 2006-01-02 15:04:05.999999999 +0000 UTC}, the fraction without
   * trailing zeros and left out entirely when zero.
   */
  public static String goUtcString(Instant t) {
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), 0, ZoneOffset.UTC);
    StringBuilder b = new StringBuilder(40);
    int year = d.getYear();
    if (year < 0) {
      b.append('-');
      year = -year;
    }
    pad(b, year, 4).append('-');
    pad(b, d.getMonthValue(), 2).append('-');
    pad(b, d.getDayOfMonth(), 2).append(' ');
    pad(b, d.getHour(), 2).append(':');
    pad(b, d.getMinute(), 2).append(':');
    pad(b, d.getSecond(), 2);
    int nanos = t.getNano();
    if (nanos != 0) {
      // Nine digits without the trailing zeros (not String.format: its first use costs ~10 ms of start-up).
      char[] digits = new char[9];
      for (int i = 8, n = nanos; i >= 0; i--, n /= 10) {
        digits[i] = (char) ('0' + n % 10);
      }
      int end = digits.length;
      while (digits[end - 1] == '0') {
        end--;
      }
      b.append('.').append(digits, 0, end);
    }
    return b.append(" +0000 UTC").toString();
  }

  private static StringBuilder pad(StringBuilder b, int value, int width) {
    String s = Integer.toString(value);
    for (int i = s.length(); i < width; i++) {
      b.append('0');
    }
    return b.append(s);
  }
}
