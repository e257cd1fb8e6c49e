package dev.sandboxmetrics.cli;

import java.math.BigDecimal;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses durations as Go's {@code time.ParseDuration} does ({@code 10s}, {@code 1.5m}, {@code 1m30s},
 * {@code 250ms}), the syntax of runsc's duration flags, so that values carry over from runsc scripts.
 */
final class GoDurationConverter implements ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    String s = value.trim();
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    boolean negative = false;
    int i = 0;
    if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
      negative = s.charAt(0) == '-';
      i = 1;
    }
    if (i == s.length()) {
      throw invalid(value);
    }
    BigDecimal totalNanos = BigDecimal.ZERO;
    while (i < s.length()) {
      int start = i;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
        i++;
      }
      if (start == i) {
        throw invalid(value);
      }
      BigDecimal number;
      try {
        number = new BigDecimal(s.substring(start, i));
      } catch (NumberFormatException e) {
        throw invalid(value);
      }
      int unitStart = i;
      while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
        i++;
      }
      long unitNanos = switch (s.substring(unitStart, i)) {
        case "ns" -> 1L;
        case "us", "\u00b5s", "\u03bcs" -> 1_000L;
        case "ms" -> 1_000_000L;
        case "s" -> 1_000_000_000L;
        case "m" -> 60_000_000_000L;
        case "h" -> 3_600_000_000_000L;
        default -> throw invalid(value);
      };
      totalNanos = totalNanos.add(number.multiply(BigDecimal.valueOf(unitNanos)));
    }
    if (totalNanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      throw new TypeConversionException("'" + value + "' is too long a duration");
    }
    long nanos = totalNanos.longValue();
    return Duration.ofNanos(negative ? -nanos : nanos);
  }

  private static TypeConversionException invalid(String value) {
    return new TypeConversionException(
        "'" + value + "' is not a duration (examples: 10s, 1.5m, 1m30s, 500ms)");
  }
}
