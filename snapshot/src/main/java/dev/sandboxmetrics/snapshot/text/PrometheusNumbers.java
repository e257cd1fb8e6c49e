package dev.sandboxmetrics.snapshot.text;

import dev.sandboxmetrics.snapshot.Value;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;

/**
 * Numbers as runsc prints them in the exposition, written straight into a byte array: integers in decimal
 * (all 64 bits, unlike gVisor, which loses digits from 10^18 on), zero of either kind as {@code 0}, floats as
 * Go's {@code %f} (six decimals, correctly rounded half-to-even from the exact binary value, sign kept, so a
 * tiny negative value is {@code -0.000000}), and {@code +Inf}, {@code -Inf}, {@code NaN}.
 *
 * <p>Used by {@link ExpositionBuffer} on every sample line, so the common cases avoid allocation: only a
 * float beyond 2^63 or one whose sixth decimal is (nearly) a tie takes the exact {@link BigDecimal} path.
 * Also the verifier's numbers in its messages ({@link #toText}), which gVisor prints the same way: the
 * project's one implementation of Go's {@code %f}.
 */
public final class PrometheusNumbers {
  /** Room a caller must leave: the longest text, {@code -Double.MAX_VALUE} as %f, is 317 bytes. */
  static final int MAX_LENGTH = 320;

  private static final byte[] LONG_MIN = "-9223372036854775808".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NAN = "NaN".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] POS_INF = "+Inf".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NEG_INF = "-Inf".getBytes(StandardCharsets.US_ASCII);
  private static final double TWO_TO_63 = 0x1p63;
  private static final byte[] DIGIT_TENS = new byte[100];
  private static final byte[] DIGIT_ONES = new byte[100];

  static {
    for (int i = 0; i < 100; i++) {
      DIGIT_TENS[i] = (byte) ('0' + i / 10);
      DIGIT_ONES[i] = (byte) ('0' + i % 10);
    }
  }

  private PrometheusNumbers() {}

  /** The text of a value, for tests and messages; the writer uses {@link #write(byte[], int, Value)}. */
  public static String toText(Value v) {
    byte[] b = new byte[MAX_LENGTH];
    return new String(b, 0, write(b, 0, v), StandardCharsets.US_ASCII);
  }

  /** Writes {@code v} at {@code pos}; returns the position after it. Needs {@link #MAX_LENGTH} bytes. */
  static int write(byte[] b, int pos, Value v) {
    return v.isInteger() ? writeLong(b, pos, v.longValue()) : writeDouble(b, pos, v.doubleValue());
  }

  static int writeLong(byte[] b, int pos, long v) {
    if (v == Long.MIN_VALUE) {
      return put(b, pos, LONG_MIN);
    }
    if (v < 0) {
      b[pos++] = '-';
      v = -v;
    }
    if (v <= Integer.MAX_VALUE) {
      // Most values: in 32-bit arithmetic.
      int i = (int) v;
      int end = pos + digitCount(i);
      writeDigits(b, end, i);
      return end;
    }
    // Eight digits at a time, so that only one or two divisions are 64-bit ones.
    long high = v / 100_000_000;
    int low = (int) (v - high * 100_000_000);
    int end;
    if (high <= Integer.MAX_VALUE) {
      end = pos + digitCount((int) high) + 8;
      writeDigits(b, end - 8, (int) high);
    } else {
      long top = high / 100_000_000;
      int middle = (int) (high - top * 100_000_000);
      end = pos + digitCount((int) top) + 16;
      writeDigits(b, end - 16, (int) top);
      writeEightDigits(b, end - 8, middle);
    }
    writeEightDigits(b, end, low);
    return end;
  }

  /**
   * {@code i / 100} for {@code 0 <= i < 2^32} by a multiplication: the server runs on C1, which, unlike
   * C2, compiles a division by a constant as a division, and that cost ~40 % of every integer's printing.
   */
  private static int divideBy100(int i) {
    return (int) ((i * 1374389535L) >>> 37);
  }

  /** The digits of {@code i >= 0}, ending just before {@code end} (the caller counted them). */
  private static void writeDigits(byte[] b, int end, int i) {
    int p = end;
    while (i >= 100) {
      int q = divideBy100(i);
      int r = i - q * 100;
      i = q;
      b[--p] = DIGIT_ONES[r];
      b[--p] = DIGIT_TENS[r];
    }
    b[--p] = DIGIT_ONES[i];
    if (i >= 10) {
      b[--p] = DIGIT_TENS[i];
    }
  }

  /** {@code 0 <= i < 10^8} as exactly eight digits, zero-padded, ending just before {@code end}. */
  private static void writeEightDigits(byte[] b, int end, int i) {
    for (int p = end; p > end - 8; p -= 2) {
      int q = divideBy100(i);
      int r = i - q * 100;
      i = q;
      b[p - 1] = DIGIT_ONES[r];
      b[p - 2] = DIGIT_TENS[r];
    }
  }

  static int writeDouble(byte[] b, int pos, double d) {
    if (Double.isNaN(d)) {
      return put(b, pos, NAN);
    }
    if (d == Double.POSITIVE_INFINITY) {
      return put(b, pos, POS_INF);
    }
    if (d == Double.NEGATIVE_INFINITY) {
      return put(b, pos, NEG_INF);
    }
    if (d == 0) {
      // gVisor tests Float == 0, which holds for -0.0 too.
      b[pos] = '0';
      return pos + 1;
    }
    double a = Math.abs(d);
    if (a >= TWO_TO_63) {
      return writeExact(b, pos, d);
    }
    long whole = (long) a;
    // Exact: whole <= a < whole + 1 <= 2 * whole (Sterbenz), or whole == 0.
    double fraction = a - whole;
    long micros = 0;
    if (fraction != 0) {
      // fraction * 1e6 is off by at most half an ulp of a number below 2^20, about 6e-11; only a result
      // within that distance of .5 could round the wrong way, and those go the exact way.
      double scaled = fraction * 1e6;
      double floor = Math.floor(scaled);
      double rest = scaled - floor;
      if (Math.abs(rest - 0.5) < 1e-6) {
        return writeExact(b, pos, d);
      }
      micros = (long) floor + (rest > 0.5 ? 1 : 0);
      if (micros == 1_000_000) {
        whole++;
        micros = 0;
      }
    }
    if (d < 0) {
      b[pos++] = '-';
    }
    pos = writeLong(b, pos, whole);
    b[pos++] = '.';
    // Six digits, zero-padded: three pairs.
    int m = (int) micros;
    for (int i = pos + 5; i > pos; i -= 2) {
      int q = divideBy100(m);
      int r = m - q * 100;
      m = q;
      b[i] = DIGIT_ONES[r];
      b[i - 1] = DIGIT_TENS[r];
    }
    return pos + 6;
  }

  /** Go's %f the slow, obviously exact way: the binary value's full decimal expansion, rounded half-even. */
  private static int writeExact(byte[] b, int pos, double d) {
    String digits = new BigDecimal(Math.abs(d)).setScale(6, RoundingMode.HALF_EVEN).toPlainString();
    if (d < 0) {
      b[pos++] = '-';
    }
    for (int i = 0; i < digits.length(); i++) {
      b[pos++] = (byte) digits.charAt(i);
    }
    return pos;
  }

  /**
   * Decimal digits of {@code i >= 0}, by comparisons: cheaper on C1 than a table indexed by the bit length,
   * whose {@code numberOfLeadingZeros} C1 does not always compile to one instruction.
   */
  private static int digitCount(int i) {
    if (i < 100_000) {
      if (i < 100) {
        return i < 10 ? 1 : 2;
      }
      return i < 1_000 ? 3 : i < 10_000 ? 4 : 5;
    }
    if (i < 10_000_000) {
      return i < 1_000_000 ? 6 : 7;
    }
    return i < 100_000_000 ? 8 : i < 1_000_000_000 ? 9 : 10;
  }

  private static int put(byte[] b, int pos, byte[] text) {
    System.arraycopy(text, 0, b, pos, text.length);
    return pos + text.length;
  }
}
