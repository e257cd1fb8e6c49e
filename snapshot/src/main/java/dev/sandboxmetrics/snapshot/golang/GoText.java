package dev.sandboxmetrics.snapshot.golang;

import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.math.BigDecimal;

/**
 * How Go's encoding/json spells a float64, so that the simulator's bytes are the bytes a real runsc writes.
 * Used by {@link GoJsonWriter}. Times are {@link RunscTime}'s, the project's one place for Go's time formats.
 */
public final class GoText {
  private GoText() {}

  /**
   * A float64 as encoding/json writes it: shortest round-trip digits, plain notation for magnitudes in
   * [1e-6, 1e21), exponent notation otherwise with Go's spelling ({@code 1e+21}, {@code 1.5e-7}). Go
   * cannot encode infinities or NaN; for those we write the tokens {@code Infinity}, {@code -Infinity} and
   * {@code NaN}, which our client accepts (docs/runsc-protocol.md section 4).
   */
  public static String float64(double f) {
    if (Double.isNaN(f)) {
      return "NaN";
    }
    if (Double.isInfinite(f)) {
      return f > 0 ? "Infinity" : "-Infinity";
    }
    if (f == 0) {
      return (Double.doubleToRawLongBits(f) < 0) ? "-0" : "0";
    }
    // Double.toString gives digits that round-trip; BigDecimal lets us lay them out Go's way.
    BigDecimal d = new BigDecimal(Double.toString(f)).stripTrailingZeros();
    double abs = Math.abs(f);
    if (abs >= 1e-6 && abs < 1e21) {
      return d.toPlainString();
    }
    String digits = d.unscaledValue().abs().toString();
    int exponent = digits.length() - 1 - d.scale();
    StringBuilder b = new StringBuilder(digits.length() + 8);
    if (f < 0) {
      b.append('-');
    }
    b.append(digits.charAt(0));
    if (digits.length() > 1) {
      b.append('.').append(digits, 1, digits.length());
    }
    b.append('e').append(exponent < 0 ? '-' : '+');
    int absExp = Math.abs(exponent);
    // strconv writes at least two exponent digits; encoding/json then drops the zero of "e-0X" only.
    if (absExp < 10 && exponent > 0) {
      b.append('0');
    }
    b.append(absExp);
    return b.toString();
  }
}
