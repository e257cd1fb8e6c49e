package dev.sandboxmetrics.snapshot.golang;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * Times as runsc writes them: RFC 3339 with up to nanoseconds in JSON (Go's {@code time.Time} MarshalJSON),
 * and Go's {@code time.Time.String()} form in comments and in the {@code iteration} hash. Used by the codec
 * for a snapshot's {@code when}, by the text writer for the times in its comments, and by the verifier's
 * messages.
 *
 * <p>Parsing is hand-written rather than a {@code DateTimeFormatter} because it runs once per snapshot on the
 * scrape path and must say precisely what is wrong with a bad value.
 */
public final class RunscTime {
  /**
   * Go's zero {@code time.Time}, 0001-01-01T00:00:00Z, which Go writes for a snapshot that never set its
   * time. In epoch seconds: {@code Instant.parse} would start java.time's formatters, ~12 ms of every
   * {@code export-metrics} (they are used nowhere else on its path).
   */
  public static final Instant GO_ZERO_TIME = Instant.ofEpochSecond(-62_135_596_800L);

  private static final int MIN_YEAR = 0;
  private static final int MAX_YEAR = 9999;

  private RunscTime() {}

  /**
   * Parses {@code YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)}. The fraction has at least one digit;
   * digits beyond nanoseconds are ignored, as Go does.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static Instant parseRfc3339(CharSequence s) {
    char[] c = new char[s.length()];
    for (int i = 0; i < c.length; i++) {
      c[i] = s.charAt(i);
    }
    return parseRfc3339(c, 0, c.length);
  }

  /** {@link #parseRfc3339(CharSequence)} on a slice of a char array, without copying it. */
  public static Instant parseRfc3339(char[] c, int off, int len) {
    if (len < 20) {
      throw bad("too short for an RFC 3339 time");
    }
    int year = digits(c, off, off, 4, "year");
    expect(c, off, off + 4, '-');
    int month = digits(c, off, off + 5, 2, "month");
    expect(c, off, off + 7, '-');
    int day = digits(c, off, off + 8, 2, "day");
    expect(c, off, off + 10, 'T');
    int hour = digits(c, off, off + 11, 2, "hour");
    expect(c, off, off + 13, ':');
    int minute = digits(c, off, off + 14, 2, "minute");
    expect(c, off, off + 16, ':');
    int second = digits(c, off, off + 17, 2, "second");
    if (month < 1 || month > 12) {
      throw bad("month " + month + " out of range");
    }
    if (day < 1 || day > daysInMonth(year, month)) {
      throw bad("day " + day + " out of range for month " + month);
    }
    if (hour > 23 || minute > 59 || second > 59) {
      throw bad("time of day out of range");
    }
    int i = off + 19;
    int end = off + len;
    int nanos = 0;
    if (c[i] == '.') {
      i++;
      int start = i;
      int scale = 100_000_000;
      while (i < end && c[i] >= '0' && c[i] <= '9') {
        nanos += (c[i] - '0') * scale;
        scale /= 10;
        i++;
      }
      if (i == start) {
        throw bad("no digits after the decimal point");
      }
    }
    if (i >= end) {
      throw bad("missing time zone offset");
    }
    int offsetSeconds;
    if (c[i] == 'Z') {
      offsetSeconds = 0;
      i++;
    } else if (c[i] == '+' || c[i] == '-') {
      if (end - i < 6) {
        throw bad("time zone offset must be +hh:mm or -hh:mm");
      }
      int oh = digits(c, off, i + 1, 2, "offset hours");
      expect(c, off, i + 3, ':');
      int om = digits(c, off, i + 4, 2, "offset minutes");
      if (oh > 23 || om > 59) {
        throw bad("time zone offset out of range");
      }
      offsetSeconds = (oh * 3600 + om * 60) * (c[i] == '-' ? -1 : 1);
      i += 6;
    } else {
      throw bad("expected Z or a time zone offset at position " + (i - off));
    }
    if (i != end) {
      throw bad("unexpected text after the time zone offset");
    }
    long epochDay = LocalDate.of(year, month, day).toEpochDay();
    long epochSecond = epochDay * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
    return Instant.ofEpochSecond(epochSecond, nanos);
  }

  /**
   * Formats like Go's {@code time.Time} MarshalJSON of a UTC time: RFC 3339, fraction with trailing zeros
   * removed (none at all when zero), {@code Z}.
   *
   * @throws IllegalArgumentException for years outside 0..9999, which Go refuses to encode too
   */
  public static String formatRfc3339Nano(Instant t) {
    return formatRfc3339Nano(t, ZoneOffset.UTC);
  }

  /**
   * Formats like Go's {@code time.Time} MarshalJSON of a time in {@code zone} ({@code time.RFC3339Nano}): the
   * local date and time, the fraction as above, then {@code Z} for a zero offset, else {@code +hh:mm} or
   * {@code -hh:mm}. The simulator writes state files' times this way, as runsc does in the host's zone.
   *
   * @throws IllegalArgumentException for local years outside 0..9999, which Go refuses to encode too
   */
  public static String formatRfc3339Nano(Instant t, ZoneId zone) {
    ZoneOffset offset = zone.getRules().getOffset(t);
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), t.getNano(), offset);
    if (d.getYear() < MIN_YEAR || d.getYear() > MAX_YEAR) {
      throw new IllegalArgumentException("year outside of range [0,9999]: " + t);
    }
    StringBuilder sb = new StringBuilder(36);
    appendDate(sb, d);
    sb.append('T');
    appendClock(sb, d);
    appendFraction(sb, d.getNano());
    int seconds = offset.getTotalSeconds();
    if (seconds == 0) {
      return sb.append('Z').toString();
    }
    sb.append(seconds < 0 ? '-' : '+');
    int abs = Math.abs(seconds);
    pad(sb, abs / 3600, 2);
    sb.append(':');
    pad(sb, (abs / 60) % 60, 2);
    return sb.toString();
  }

  /**
   * Formats like Go's {@code time.Time.String()} of a UTC time: {@code 2006-01-02 15:04:05.999999999 +0000 UTC},
   * the fraction with trailing zeros removed and absent when zero. runsc writes this in its headers and hashes
   * it into the {@code iteration} label. Unlike JSON, any year prints (padded to four digits, as Go does).
   */
  public static String formatGoString(Instant t) {
    StringBuilder sb = new StringBuilder(40);
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), t.getNano(), ZoneOffset.UTC);
    appendDate(sb, d);
    sb.append(' ');
    appendClock(sb, d);
    appendFraction(sb, d.getNano());
    return sb.append(" +0000 UTC").toString();
  }

  private static void appendDate(StringBuilder sb, LocalDateTime d) {
    int year = d.getYear();
    if (year < 0) {
      sb.append('-');
    }
    pad(sb, Math.abs(year), 4);
    sb.append('-');
    pad(sb, d.getMonthValue(), 2);
    sb.append('-');
    pad(sb, d.getDayOfMonth(), 2);
  }

  private static void appendClock(StringBuilder sb, LocalDateTime d) {
    pad(sb, d.getHour(), 2);
    sb.append(':');
    pad(sb, d.getMinute(), 2);
    sb.append(':');
    pad(sb, d.getSecond(), 2);
  }

  private static void appendFraction(StringBuilder sb, int nanos) {
    if (nanos == 0) {
      return;
    }
    int digits = 9;
    while (nanos % 10 == 0) {
      nanos /= 10;
      digits--;
    }
    sb.append('.');
    pad(sb, nanos, digits);
  }

  private static void pad(StringBuilder sb, int v, int width) {
    String s = Integer.toString(v);
    for (int i = s.length(); i < width; i++) {
      sb.append('0');
    }
    sb.append(s);
  }

  private static int digits(char[] c, int off, int at, int n, String what) {
    int v = 0;
    for (int i = at; i < at + n; i++) {
      char ch = c[i];
      if (ch < '0' || ch > '9') {
        throw bad("expected a digit of the " + what + " at position " + (i - off));
      }
      v = v * 10 + (ch - '0');
    }
    return v;
  }

  private static void expect(char[] c, int off, int at, char want) {
    if (c[at] != want) {
      throw bad("expected '" + want + "' at position " + (at - off));
    }
  }

  private static int daysInMonth(int year, int month) {
    switch (month) {
      case 2:
        boolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return leap ? 29 : 28;
      case 4:
      case 6:
      case 9:
      case 11:
        return 30;
      default:
        return 31;
    }
  }

  private static IllegalArgumentException bad(String why) {
    return new IllegalArgumentException(why);
  }
}
