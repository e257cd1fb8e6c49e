package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.json.RunscTime;
import java.time.Instant;
import java.util.Locale;

/**
 * Formatting for verification messages, modelled on what gVisor's verifier prints with Go's {@code %q} and
 * {@code %v}, so that a message from us reads like the one runsc would log for the same snapshot.
 */
final class Go {
  private Go() {}

  /** Go's {@code %q} for the strings we meet: double quotes, backslash escapes, control bytes as \xNN. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\t':
          sb.append("\\t");
          break;
        case '\r':
          sb.append("\\r");
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            sb.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }

  /** gVisor's {@code Number.String()}: integers in decimal, floats as C's {@code %f}, +Inf, -Inf, NaN. */
  static String number(Value v) {
    if (v.isInteger()) {
      return Long.toString(v.longValue());
    }
    double d = v.doubleValue();
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "+Inf" : "-Inf";
    }
    if (d == 0) {
      return "0";
    }
    return String.format(Locale.ROOT, "%f", d);
  }

  /** Go's {@code %v} of a UTC time, or ISO 8601 for instants Go could not print either. */
  static String time(Instant t) {
    try {
      return RunscTime.formatGoString(t);
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      return t.toString();
    }
  }
}
