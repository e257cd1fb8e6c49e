package dev.sandboxmetrics.snapshot.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Value;
import org.junit.jupiter.api.Test;

/** The verifier's numbers read as gVisor's {@code Number.String()} prints them, like the exposition's. */
class GoTest {
  @Test
  void floatsAreGosPercentFOfTheExactBinaryValue() {
    // 5e-7 is 4.99999999999999977e-07 in binary: Go's %f gives 0.000000 (Java's %f would say 0.000001).
    assertThat(Go.number(Value.ofFloat(5e-7))).isEqualTo("0.000000");
    assertThat(Go.number(Value.ofFloat(-1.5))).isEqualTo("-1.500000");
    assertThat(Go.number(Value.ofFloat(-0.0))).isEqualTo("0");
    assertThat(Go.number(Value.ofFloat(Double.NEGATIVE_INFINITY))).isEqualTo("-Inf");
    assertThat(Go.number(Value.ofFloat(Double.NaN))).isEqualTo("NaN");
    assertThat(Go.number(Value.ofInt(Long.MIN_VALUE))).isEqualTo("-9223372036854775808");
  }
}
