package dev.sandboxmetrics.snapshot.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.TestData;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scrape path's decoder hands out the same {@code Metric} and {@code Labels} instances for equal
 * objects: on every decode of a sandbox's reply and across sandboxes that send the same bytes (the bench
 * workload: 100 sandboxes of one registration), also when the bytes differ but the label set is equal.
 * The writer keys work by these instances; a new instance per scrape would defeat that (and allocate).
 */
class DecodedInstancesSharedTest {
  private static final byte[] BENCH = TestData.bytes("bench/snapshot-175.json");

  @Test
  void everyDecodeOfEqualBytesGivesTheSameLabelAndMetricInstances() throws Exception {
    Snapshot first = RunscJson.readSnapshot(BENCH, 0, BENCH.length);
    // Another sandbox: the same bytes in another array, at another offset.
    byte[] other = new byte[BENCH.length + 7];
    System.arraycopy(BENCH, 0, other, 7, BENCH.length);
    for (int round = 0; round < 3; round++) {
      Snapshot again = RunscJson.readSnapshot(other, 7, BENCH.length);
      assertThat(again.pointCount()).isEqualTo(first.pointCount());
      int labelled = 0;
      for (int i = 0; i < first.pointCount(); i++) {
        assertThat(again.point(i).metric()).isSameAs(first.point(i).metric());
        assertThat(again.point(i).labels()).as("point %d", i).isSameAs(first.point(i).labels());
        labelled += first.point(i).labels().isEmpty() ? 0 : 1;
      }
      assertThat(labelled).isEqualTo(80);
    }
  }

  @Test
  void equalLabelSetsInOtherBytesAreSharedByValueAndStayImmutable() throws Exception {
    String a = "{\"when\":\"2024-01-02T03:04:05Z\",\"data\":[{\"metric\":{\"name\":\"m\",\"type\":2,\"help\":\"h\"},"
        + "\"labels\":{\"op\":\"read\",\"fs\":\"ext4\"},\"val\":{\"int\":1}}]}";
    // The same set written in another order and with spaces: other bytes, the same labels.
    String b = "{\"when\":\"2024-01-02T03:04:05Z\",\"data\":[{\"metric\":{\"name\":\"m\",\"type\":2,\"help\":\"h\"},"
        + "\"labels\":{ \"fs\" : \"ext4\", \"op\" : \"read\" },\"val\":{\"int\":2}}]}";
    Labels la = decode(a).point(0).labels();
    Labels lb = decode(b).point(0).labels();
    assertThat(lb).isEqualTo(la).isSameAs(la);
    assertThat(la.asMap()).isEqualTo(Map.of("fs", "ext4", "op", "read"));
    assertThatThrownBy(() -> la.asMap().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
  }

  private static Snapshot decode(String json) throws Exception {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return RunscJson.readSnapshot(bytes, 0, bytes.length);
  }
}
