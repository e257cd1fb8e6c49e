package dev.sandboxmetrics.metricserver.containerstats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** runsc's populateStats, fallbacks included, in Go's uint64/float64 arithmetic. */
class CpuFormulaTest {
  private static Map<String, Long> usage(Object... idsAndValues) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < idsAndValues.length; i += 2) {
      m.put((String) idsAndValues[i], ((Number) idsAndValues[i + 1]).longValue());
    }
    return m;
  }

  @Test
  void theSplitIsScaledToTheHostCgroupAndEveryEntryCountsInTheDenominator() {
    // 3 of 3+7+10 = 20 sentry nanoseconds; the host measured 1000: 3 * (1000 / 20) = 150.
    CpuFormula.Result r = CpuFormula.total(usage("pause", 10, "app", 3, "side", 7), "app", 1000L);
    assertThat(r.totalNanos()).isEqualTo(150);
    assertThat(r.source()).isEqualTo(CpuFormula.Source.HOST_CGROUP);
    // An entry for a container the root directory does not list still counts, as in runsc.
    assertThat(CpuFormula.total(usage("app", 3, "ghost", 997), "app", 1000L).totalNanos()).isEqualTo(3);
  }

  @Test
  void goMultipliesByTheRatioInFloat64AndTruncates() {
    // 1 * (10 / 3) = 3.333... -> 3; the multiplication comes after the division, as in Go.
    assertThat(CpuFormula.total(usage("a", 1, "b", 2), "a", 10L).totalNanos()).isEqualTo(3);
    long mine = 123_456_789_012L;
    long all = 987_654_321_098L;
    long host = 1_111_111_111_111L;
    double expected = (double) mine * ((double) host / (double) all);
    assertThat(CpuFormula.total(usage("a", mine, "b", all - mine), "a", host).totalNanos())
        .isEqualTo((long) expected);
  }

  @Test
  void runscsFallbacks() {
    // No host cgroup, or one that measured nothing: the sentry's own number.
    assertThat(CpuFormula.total(usage("a", 42, "b", 8), "a", null))
        .isEqualTo(new CpuFormula.Result(42, CpuFormula.Source.SANDBOX));
    assertThat(CpuFormula.total(usage("a", 42, "b", 8), "a", 0L))
        .isEqualTo(new CpuFormula.Result(42, CpuFormula.Source.SANDBOX));
    // The sentry reports nothing: the host usage split equally among the entries.
    assertThat(CpuFormula.total(usage("a", 0, "b", 0, "c", 0), "a", 1000L))
        .isEqualTo(new CpuFormula.Result(333, CpuFormula.Source.HOST_CGROUP_EQUAL_SPLIT));
    // No entries at all: zero.
    assertThat(CpuFormula.total(Map.of(), "a", 1000L)).isEqualTo(new CpuFormula.Result(0, CpuFormula.Source.NO_USAGE));
    // A container missing from the map gets zero.
    assertThat(CpuFormula.total(usage("b", 5), "a", 1000L).totalNanos()).isZero();
  }

  @Test
  void unsignedValuesAboveTwoToTheSixtyThreeKeepTheirMeaning() {
    long big = Long.MIN_VALUE + 2048; // 2^63 + 2048 as a uint64
    CpuFormula.Result r = CpuFormula.total(usage("a", big), "a", big);
    assertThat(Long.toUnsignedString(r.totalNanos())).isEqualTo("9223372036854777856");
    assertThat(CpuFormula.toDouble(-1L)).isEqualTo(0x1p64);
    assertThat(new BigDecimal(CpuFormula.toDouble(Long.MIN_VALUE + 1)))
        .isEqualTo(new BigDecimal("9223372036854775808"));
    assertThat(CpuFormula.toUint64(0x1p63)).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void aSumThatWouldWrapAroundIsRefused() {
    // In Go the sum wraps to 1 and "a" would get 2^63 times the host usage: a sandbox cannot do that here.
    assertThatThrownBy(() -> CpuFormula.total(usage("a", Long.MIN_VALUE, "b", Long.MIN_VALUE + 1), "a", 1000L))
        .isInstanceOf(ArithmeticException.class);
  }
}
