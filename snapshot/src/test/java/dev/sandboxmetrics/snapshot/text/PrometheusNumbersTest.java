package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Value;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Numbers as runsc prints them: Go's writeNumberTo, i.e. integers in decimal, zero as "0", floats as %f.
 * Go's %f of a float64 is the exact binary value rounded half-to-even to six decimals with the sign kept;
 * the reference here computes that independently with BigDecimal.
 */
class PrometheusNumbersTest {

  @Test
  void integersPrintAllSixtyFourBits() {
    assertThat(text(Value.ZERO)).isEqualTo("0");
    assertThat(text(Value.ofInt(1))).isEqualTo("1");
    assertThat(text(Value.ofInt(-1))).isEqualTo("-1");
    assertThat(text(Value.ofInt(9))).isEqualTo("9");
    assertThat(text(Value.ofInt(10))).isEqualTo("10");
    assertThat(text(Value.ofInt(999_999_999_999_999_999L))).isEqualTo("999999999999999999");
    // gVisor prints these two as an empty string; docs/runsc-protocol.md section 8.
    assertThat(text(Value.ofInt(1_000_000_000_000_000_000L))).isEqualTo("1000000000000000000");
    assertThat(text(Value.ofInt(-1_000_000_000_000_000_000L))).isEqualTo("-1000000000000000000");
    assertThat(text(Value.ofInt(Long.MAX_VALUE))).isEqualTo("9223372036854775807");
    // gVisor crashes on this one.
    assertThat(text(Value.ofInt(Long.MIN_VALUE))).isEqualTo("-9223372036854775808");
  }

  @Test
  void everyPowerOfTenAndItsNeighboursAsIntegers() {
    long p = 1;
    for (int i = 0; i < 19; i++) {
      for (long v : new long[] {p - 1, p, p + 1, -p, -(p - 1), -(p + 1)}) {
        assertThat(text(Value.ofInt(v))).as("%d", v).isEqualTo(Long.toString(v));
      }
      p *= 10;
    }
  }

  @Test
  void randomIntegersOfEveryLengthAndTheIntBoundaryAsLongToString() {
    // The writer prints up to 2^31-1 in int arithmetic and larger values eight digits at a time.
    for (long v : new long[] {Integer.MAX_VALUE, Integer.MAX_VALUE + 1L, -Integer.MAX_VALUE - 1L,
        99_999_999L, 100_000_000L, 100_000_001L, 4_294_967_295L, 4_294_967_296L, 10_000_000_000_000_000L,
        9_999_999_999_999_999L, 100_000_000_00_000_007L}) {
      assertThat(text(Value.ofInt(v))).as("%d", v).isEqualTo(Long.toString(v));
    }
    SplittableRandom random = new SplittableRandom(13);
    for (int i = 0; i < 200_000; i++) {
      long v = random.nextLong() >> random.nextInt(64);
      assertThat(text(Value.ofInt(v))).as("%d", v).isEqualTo(Long.toString(v));
    }
  }

  @Test
  void floatsAsGoPercentF() {
    assertThat(floatText(0.5)).isEqualTo("0.500000");
    assertThat(floatText(1.0 / 3)).isEqualTo("0.333333");
    assertThat(floatText(2.0 / 3)).isEqualTo("0.666667");
    assertThat(floatText(1e-7)).isEqualTo("0.000000");
    assertThat(floatText(1e21)).isEqualTo("1000000000000000000000.000000");
    assertThat(floatText(2.0)).isEqualTo("2.000000");
    assertThat(floatText(-0.25)).isEqualTo("-0.250000");
    assertThat(floatText(1704164645.678)).isEqualTo("1704164645.678000");
    assertThat(floatText(1674598082.698509)).isEqualTo("1674598082.698509");
    assertThat(floatText(0.9999999)).isEqualTo("1.000000");
    assertThat(floatText(-0.9999999)).isEqualTo("-1.000000");
    // Checked against C's printf("%f") (Python's %-formatting), which rounds like Go's.
    assertThat(floatText(1e300)).isEqualTo(reference(1e300)).isEqualTo(
        "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864"
        + "0437044438328838781769425232353604305756447921847867069828483872009265758037378302337947880900593689"
        + "5323497079994508111903896764088007465274278014249457925878882005684283811566947219638686545940054016"
        + "0.000000");
    assertThat(floatText(Double.MIN_VALUE)).isEqualTo("0.000000");
    assertThat(floatText(-Double.MIN_VALUE)).isEqualTo("-0.000000");
    assertThat(floatText(Double.MAX_VALUE)).isEqualTo(reference(Double.MAX_VALUE)).hasSize(309 + 7);
    assertThat(floatText(-Double.MAX_VALUE)).isEqualTo("-" + reference(Double.MAX_VALUE));
  }

  @Test
  void zeroOfEitherSignIsPlainZeroButATinyNegativeKeepsItsSign() {
    // gVisor tests Float == 0, true for -0.0 too; a non-zero value goes through %f, which keeps the sign.
    assertThat(floatText(0.0)).isEqualTo("0");
    assertThat(floatText(-0.0)).isEqualTo("0");
    assertThat(floatText(-1e-7)).isEqualTo("-0.000000");
  }

  @Test
  void specialFloats() {
    assertThat(floatText(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
    assertThat(floatText(Double.NEGATIVE_INFINITY)).isEqualTo("-Inf");
    assertThat(floatText(Double.NaN)).isEqualTo("NaN");
    assertThat(floatText(Double.longBitsToDouble(0x7ff8_0000_0000_0001L))).isEqualTo("NaN");
  }

  @Test
  void exactTiesRoundHalfToEven() {
    // k/128 has exactly seven decimals ending in 5: the sixth decimal is a true tie.
    assertThat(floatText(1.0 / 128)).isEqualTo("0.007812"); // 0.0078125
    assertThat(floatText(3.0 / 128)).isEqualTo("0.023438"); // 0.0234375
    assertThat(floatText(-1.0 / 128)).isEqualTo("-0.007812");
    assertThat(floatText(5.0 + 1.0 / 128)).isEqualTo("5.007812");
    // Not ties: 0.0000005, 0.0000015 and 0.0000025 are not representable; the nearest doubles decide
    // (checked against C's printf).
    assertThat(floatText(0.0000005)).isEqualTo("0.000000");
    assertThat(floatText(0.0000015)).isEqualTo("0.000002");
    assertThat(floatText(2.5e-6)).isEqualTo("0.000003");
  }

  @Test
  void aroundTwoToTheSixtyThreeWhereTheFastPathEnds() {
    assertThat(floatText(Math.nextDown(0x1p63))).isEqualTo("9223372036854774784.000000");
    assertThat(floatText(0x1p63)).isEqualTo("9223372036854775808.000000");
    assertThat(floatText(4503599627370495.5)).isEqualTo("4503599627370495.500000");
    for (double d : new double[] {0x1p62, 0x1p63, 0x1p64, Math.nextDown(0x1p63), Math.nextUp(0x1p63),
        0x1p52 + 0.5, 0x1p53, 4503599627370495.5, 9007199254740993.0}) {
      assertThat(floatText(d)).as("%s", d).isEqualTo(reference(d));
      assertThat(floatText(-d)).as("%s", -d).isEqualTo("-" + reference(d));
    }
  }

  @Test
  void randomFloatsOfEveryMagnitudeMatchTheExactReference() {
    SplittableRandom random = new SplittableRandom(20240102);
    for (int i = 0; i < 40_000; i++) {
      double d;
      switch (i % 4) {
        case 0 -> d = Double.longBitsToDouble(random.nextLong()); // any bit pattern at all
        case 1 -> d = random.nextDouble() * Math.pow(10, random.nextInt(-8, 20)); // the usual range
        case 2 -> d = Math.round(random.nextDouble() * 1e9) / Math.pow(10, random.nextInt(0, 10)); // "nice" decimals
        default -> d = (random.nextInt(1 << 20) + 0.5) / 1e6; // right at the sixth-decimal midpoints
      }
      if (random.nextBoolean()) {
        d = -d;
      }
      if (Double.isNaN(d) || Double.isInfinite(d) || d == 0) {
        continue;
      }
      String expected = (d < 0 ? "-" : "") + reference(Math.abs(d));
      assertThat(floatText(d)).as("%s (bits %x)", d, Double.doubleToRawLongBits(d)).isEqualTo(expected);
    }
  }

  private static String reference(double nonNegative) {
    return new BigDecimal(nonNegative).setScale(6, RoundingMode.HALF_EVEN).toPlainString();
  }

  private static String floatText(double d) {
    return text(Value.ofFloat(d));
  }

  private static String text(Value v) {
    return PrometheusNumbers.toText(v);
  }
}
