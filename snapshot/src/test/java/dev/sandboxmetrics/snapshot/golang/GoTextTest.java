package dev.sandboxmetrics.snapshot.golang;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Go's spelling of floats, checked against outputs of Go's own encoding/json. */
class GoTextTest {
  @Test
  void floatsArePlainInTheMiddleRangeAndGoExponentsOutside() {
    assertThat(GoText.float64(1.5)).isEqualTo("1.5");
    assertThat(GoText.float64(884868.5)).isEqualTo("884868.5");
    assertThat(GoText.float64(1e20)).isEqualTo("100000000000000000000");
    assertThat(GoText.float64(1e21)).isEqualTo("1e+21");
    assertThat(GoText.float64(1.5e300)).isEqualTo("1.5e+300");
    assertThat(GoText.float64(0.000001)).isEqualTo("0.000001");
    assertThat(GoText.float64(1e-7)).isEqualTo("1e-7");
    assertThat(GoText.float64(-2.5e-10)).isEqualTo("-2.5e-10");
    assertThat(GoText.float64(3.0)).isEqualTo("3");
    assertThat(GoText.float64(0.0)).isEqualTo("0");
    assertThat(GoText.float64(Double.POSITIVE_INFINITY)).isEqualTo("Infinity");
    assertThat(GoText.float64(Double.NaN)).isEqualTo("NaN");
  }
}
