package dev.sandboxmetrics.snapshot.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** How many series a registration allows: what --max-series-per-sandbox is compared with. */
class RegisteredSeriesTest {
  private static List<String> values(int n) {
    return IntStream.range(0, n).mapToObj(Integer::toString).toList();
  }

  @Test
  void fieldsMultiplyAndHistogramsCountTheirLines() throws Exception {
    MetricMetadata counter = new MetricMetadata("/c", "c", "C.", true, false, MetricMetadata.TYPE_UINT64, 0,
        List.of(new MetricField("a", values(1000)), new MetricField("b", values(500))), null);
    MetricMetadata plain = new MetricMetadata("/p", "p", "P.", false, false, MetricMetadata.TYPE_UINT64, 0, null, null);
    MetricMetadata histogram = new MetricMetadata("/h", "h", "H.", true, false, MetricMetadata.TYPE_DISTRIBUTION, 0,
        List.of(new MetricField("kind", values(4))), List.of(0L, 10L, 100L));
    Verifier v = Verifier.forRegistration(new Registration(List.of(counter, plain, histogram), List.of()));
    // 1000 x 500 label combinations, one plain series, 4 x (4 buckets + sum + count) histogram lines.
    assertThat(v.registeredSeries()).isEqualTo(500_000 + 1 + 4 * 6);
  }
}
