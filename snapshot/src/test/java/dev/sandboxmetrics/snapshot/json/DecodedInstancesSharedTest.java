package dev.sandboxmetrics.snapshot.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.TestData;
import dev.sandboxmetrics.snapshot.Value;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  void bucketBoundsAreSharedAcrossDecodesAndCorrectAtTheEdgesAndOnCollisions() throws Exception {
    Snapshot first = RunscJson.readSnapshot(BENCH, 0, BENCH.length);
    Snapshot again = RunscJson.readSnapshot(BENCH.clone(), 0, BENCH.length);
    int histograms = 0;
    for (int i = 0; i < first.pointCount(); i++) {
      Histogram h = first.point(i).histogram();
      if (h == null) {
        continue;
      }
      histograms++;
      Histogram g = again.point(i).histogram();
      for (int k = 0; k < h.bucketCount(); k++) {
        assertThat(g.bucket(k).upperBound()).isSameAs(h.bucket(k).upperBound());
      }
    }
    assertThat(histograms).isEqualTo(2);

    // Bounds of both kinds at the edges, and far more distinct ones than the cache has entries, so that
    // many share a slot: every one must come back as written, as the strict reader reads it.
    List<String> bounds = new ArrayList<>(List.of(
        "{}", "{\"int\":1}", "{\"int\":255}", "{\"int\":256}", "{\"int\":-1}", "{\"int\":-256}",
        "{\"int\":9223372036854775807}", "{\"int\":-9223372036854775808}", "{\"float\":0.5}",
        "{\"float\":-0.5}", "{\"float\":1e300}", "{\"float\":-1e-300}", "{\"float\":4.9e-324}",
        "{\"float\":256}", "{\"float\":1.7976931348623157e308}"));
    for (int i = 0; i < 3000; i++) {
      bounds.add(i % 2 == 0 ? "{\"int\":" + (1000L + 7919L * i) + "}" : "{\"float\":" + (i * 0.25 + 0.125) + "}");
    }
    for (int round = 0; round < 2; round++) {
      StringBuilder json = new StringBuilder("{\"when\":\"2024-01-02T03:04:05Z\",\"data\":[{\"metric\":")
          .append("{\"name\":\"h\",\"type\":3,\"help\":\"h\"},\"histogram\":{\"total\":{},\"min\":{},")
          .append("\"max\":{},\"ssd\":{},\"buckets\":[");
      for (int i = 0; i < bounds.size(); i++) {
        json.append(i == 0 ? "" : ",").append("{\"le\":").append(bounds.get(i)).append(",\"n\":").append(i).append('}');
      }
      byte[] bytes = json.append("]}}]}").toString().getBytes(StandardCharsets.UTF_8);
      // The fast decoder itself (RunscJson would fall back to the strict reader where it does not vouch).
      Snapshot fast = FastSnapshotReader.snapshot(bytes, 0, bytes.length, RunscJson.BothSetPolicy.INT_WINS);
      assertThat(fast).isNotNull();
      Snapshot strict = RunscJson.readSnapshotWithReader(bytes, 0, bytes.length, RunscJson.BothSetPolicy.INT_WINS);
      Histogram f = fast.point(0).histogram();
      Histogram t = strict.point(0).histogram();
      assertThat(f.bucketCount()).isEqualTo(bounds.size());
      for (int k = 0; k < bounds.size(); k++) {
        Value v = f.bucket(k).upperBound();
        assertThat(v).as("bound %s", bounds.get(k)).isEqualTo(t.bucket(k).upperBound());
        assertThat(v.isInteger()).isEqualTo(t.bucket(k).upperBound().isInteger());
        assertThat(f.bucket(k).count()).isEqualTo(k);
      }
    }
  }

  private static Snapshot decode(String json) throws Exception {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return RunscJson.readSnapshot(bytes, 0, bytes.length);
  }
}
