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

  @Test
  void aTotalBelowTheLastReportedIsHeldThereWhileTheSandboxsCounterGrows() {
    // A healthy pod: "app" is idle (its own counter stands at 100) while "side" works, and the host
    // measured less than the sentry charged over the interval (different clocks), so host / all falls.
    CpuFormula.Result first = CpuFormula.total(usage("app", 100, "side", 100), "app", 400L);
    CpuFormula.Result second = CpuFormula.total(usage("app", 100, "side", 300), "app", 600L);
    assertThat(first.totalNanos()).isEqualTo(200);
    assertThat(second.totalNanos()).isEqualTo(150); // runsc's own number goes down
    CpuFormula.Last last = CpuFormula.advance(null, 100, first.totalNanos());
    last = CpuFormula.advance(last, 100, second.totalNanos());
    assertThat(last).isEqualTo(new CpuFormula.Last(100, 200)); // kept, not dropped
    // Once the formula passes the kept total, it is reported as it is again.
    last = CpuFormula.advance(last, 160, CpuFormula.total(usage("app", 160, "side", 300), "app", 690L).totalNanos());
    assertThat(last).isEqualTo(new CpuFormula.Last(160, 240));
    // A nanosecond of rounding is held the same way.
    assertThat(CpuFormula.advance(new CpuFormula.Last(5, 8_728_346_598L), 6, 8_728_346_597L).totalNanos())
        .isEqualTo(8_728_346_598L);
  }

  @Test
  void theSandboxsOwnCounterGoingDownIsRefusedUntilItIsBack() {
    CpuFormula.Last last = new CpuFormula.Last(1_000, 1_080);
    // The sandbox says less than before, even if the scaled total would still grow: refused.
    assertThat(CpuFormula.advance(last, 999, 5_000)).isNull();
    assertThat(CpuFormula.advance(last, 0, 0)).isNull();
    // Back at the last accepted counter: accepted, the total never below what was reported.
    assertThat(CpuFormula.advance(last, 1_000, 900)).isEqualTo(new CpuFormula.Last(1_000, 1_080));
    // Unsigned: 2^63 and more is above, not below.
    assertThat(CpuFormula.advance(last, Long.MIN_VALUE, Long.MIN_VALUE))
        .isEqualTo(new CpuFormula.Last(Long.MIN_VALUE, Long.MIN_VALUE));
    assertThat(CpuFormula.advance(new CpuFormula.Last(Long.MIN_VALUE, 1), 1, 2)).isNull();
  }
}
