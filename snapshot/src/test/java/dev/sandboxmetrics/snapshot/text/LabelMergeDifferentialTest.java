package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The writer merges a data point's labels in two ways: through a cached {@code Merge} per label set (the sets
 * the decoder shares), or straight into its buffer for one-off sets and sets with external labels (the meta
 * snapshot's per-sandbox lines). Both must write the same bytes. A data point whose own labels are O and
 * external labels E is written exactly as one with own labels O + E and no external labels; the first goes
 * the direct way (a fresh label set with external labels), the second through a Merge (a set shared by all
 * the snapshot's points, without external labels). Random label sets, with escapes, non-ASCII text, invalid
 * names, "le" and names that collide with the added labels, over ~2,000 data points.
 */
class LabelMergeDifferentialTest {
  private static final Instant WHEN = Instant.parse("2024-01-02T03:04:05.678Z");
  private static final String[] OWN_NAMES =
      {"op", "zone", "a", "b", "le", "capability", "9bad", "", "sandbox", "z_last"};
  private static final String[] EXTERNAL_NAMES = {"iteration", "pod_name", "sandbox", "x", "bad-name", "le", "aa"};
  private static final String[] ADDED_NAMES = {"sandbox", "iteration", "pod_name", "namespace_name", "zone", "le"};
  private static final String[] VALUES =
      {"read", "", "a\"b", "back\\slash", "new\nline", "ünïcödé", "\uD83D\uDE00", "x"};
  private static final String[] METRICS = {"ops", "bytes", "latency", "caps", "meta"};

  private final PrometheusTextWriter writer = new PrometheusTextWriter();

  @Test
  void directlyMergedLabelsAreWrittenAsMergedOnes() throws IOException {
    Random random = new Random(13);
    int dropped = 0;
    int written = 0;
    for (int round = 0; round < 60; round++) {
      List<SnapshotExport> direct = new ArrayList<>();
      List<SnapshotExport> merged = new ArrayList<>();
      int exports = 1 + random.nextInt(4);
      for (int e = 0; e < exports; e++) {
        Labels added = labels(random, ADDED_NAMES, random.nextInt(5) == 0 ? 0 : 1 + random.nextInt(4));
        // One external set per export, as the meta snapshot's lines of one sandbox share its labels.
        Labels external = labels(random, EXTERNAL_NAMES, 1 + random.nextInt(3));
        List<DataPoint> a = new ArrayList<>();
        List<DataPoint> b = new ArrayList<>();
        // Per export and per kind (a Merge is for histograms or not), so that each shared set always finds
        // its Merge.
        Map<Map<String, String>, Labels> sharedScalars = new HashMap<>();
        Map<Map<String, String>, Labels> sharedHistograms = new HashMap<>();
        int points = 1 + random.nextInt(40);
        for (int i = 0; i < points; i++) {
          Map<String, String> own = map(random, OWN_NAMES, random.nextInt(4));
          own.keySet().removeAll(external.asMap().keySet()); // O and E disjoint: O + E is a label set
          Map<String, String> union = new TreeMap<>(own);
          union.putAll(external.asMap());
          Metric metric = metric(random);
          Value value = metric.type() == MetricType.HISTOGRAM ? null : Value.ofInt(random.nextInt(1000));
          Histogram histogram = metric.type() == MetricType.HISTOGRAM ? histogram(random) : null;
          // Fresh instances on the direct side (as MetaMetrics makes them); one shared instance per distinct
          // set on the other (as the decoder hands them out).
          a.add(new DataPoint(metric, Labels.of(own), external, value, histogram));
          Map<Map<String, String>, Labels> shared = histogram == null ? sharedScalars : sharedHistograms;
          b.add(new DataPoint(metric, shared.computeIfAbsent(union, Labels::of), Labels.EMPTY, value, histogram));
        }
        direct.add(new SnapshotExport(new Snapshot(WHEN, a), "runsc_", added));
        merged.add(new SnapshotExport(new Snapshot(WHEN, b), "runsc_", added));
      }

      ByteArrayOutputStream directOut = new ByteArrayOutputStream();
      WriteReport directReport = writer.write(directOut, "h", direct);
      ByteArrayOutputStream mergedOut = new ByteArrayOutputStream();
      WriteReport mergedReport = writer.write(mergedOut, "h", merged);

      assertThat(directOut.toString(StandardCharsets.UTF_8))
          .as("round %d", round)
          .isEqualTo(mergedOut.toString(StandardCharsets.UTF_8));
      assertThat(directReport.droppedDataPoints()).hasSameSizeAs(mergedReport.droppedDataPoints());
      // And sliced, down to a slice per data point, the same bytes again.
      for (int sliceBytes : new int[] {1, 300, 4000}) {
        SlicedExpositionTest.assertSlicesConcatenateTo(
            writer, "h", direct, sliceBytes, directOut.toByteArray(), directReport);
      }
      dropped += directReport.droppedDataPoints().size();
      written += (int) directOut.toString(StandardCharsets.UTF_8).lines()
          .filter(l -> l.contains("{") && !l.startsWith("#")).count();
    }
    // The cases were all there: lines written with labels, and points dropped for their labels.
    assertThat(written).isGreaterThan(1000);
    assertThat(dropped).isGreaterThan(50);
  }

  private static Metric metric(Random random) {
    int m = random.nextInt(METRICS.length);
    // One type per name, or the later points of a name would be dropped for their type alone.
    MetricType type = m == 2 ? MetricType.HISTOGRAM : m % 2 == 0 ? MetricType.COUNTER : MetricType.GAUGE;
    return new Metric(METRICS[m], type, "Help " + m + ".");
  }

  private static Histogram histogram(Random random) {
    return Histogram.classic(
        Value.ofInt(random.nextInt(100)),
        List.of(new Bucket(Value.ofInt(5), random.nextInt(10)),
            new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1)));
  }

  private static Labels labels(Random random, String[] names, int n) {
    return Labels.of(map(random, names, n));
  }

  private static Map<String, String> map(Random random, String[] names, int n) {
    Map<String, String> m = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      m.put(names[random.nextInt(names.length)], VALUES[random.nextInt(VALUES.length)]);
    }
    return m;
  }
}
