package dev.sandboxmetrics.snapshot.golang;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Value;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bytes the simulator writes are the bytes Go's encoding/json writes for gVisor's structs. */
class GoJsonWriterTest {
  @Test
  void dataPointsFollowGoFieldOrderOmitEmptyAndEscapeHtml() throws IOException {
    DataPoint counter =
        DataPoint.of(new Metric("fs_opens", MetricType.COUNTER, "a <b> & c"), Labels.of("z", "1", "a", "2"),
            Value.ofInt(62));
    assertThat(encode(counter))
        .isEqualTo("{\"metric\":{\"name\":\"fs_opens\",\"type\":2,\"help\":\"a \\u003Cb\\u003E \\u0026 c\"},"
            + "\"labels\":{\"a\":\"2\",\"z\":\"1\"},\"val\":{\"int\":62}}");

    DataPoint zeroGauge = DataPoint.of(new Metric("g", MetricType.GAUGE, ""), Labels.EMPTY, Value.ZERO);
    assertThat(encode(zeroGauge)).isEqualTo("{\"metric\":{\"name\":\"g\",\"type\":1,\"help\":\"\"},\"val\":{}}");

    Histogram h =
        new Histogram(Value.ofInt(7), Value.ZERO, Value.ofInt(7), Value.ofFloat(0.0),
            List.of(new Bucket(Value.ZERO, 0), new Bucket(Value.ofInt(5), 2),
                new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1)));
    DataPoint histogram = DataPoint.of(new Metric("h", MetricType.HISTOGRAM, "x"), Labels.EMPTY, h);
    assertThat(encode(histogram))
        .isEqualTo("{\"metric\":{\"name\":\"h\",\"type\":3,\"help\":\"x\"},\"histogram\":{\"total\":{\"int\":7},"
            + "\"min\":{},\"max\":{\"int\":7},\"ssd\":{},\"buckets\":[{\"le\":{}},{\"le\":{\"int\":5},\"n\":2},"
            + "{\"le\":{\"float\":Infinity},\"n\":1}]}}");
  }

  private static String encode(DataPoint d) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = GoJsonWriter.generator(out)) {
      GoJsonWriter.writeDataPoint(g, d);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
