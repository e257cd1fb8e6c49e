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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ExpositionWriter#slice}: the slices, rendered in any order and on any threads, concatenate to
 * exactly what {@link ExpositionWriter#write} writes, with the same dropped data points in the same order,
 * however small the slices (down to one data point each, which cuts every metric name into pieces).
 * PrometheusTextWriterTest runs this check on each of its cases too; bench's WorkloadSlicingTest runs it on
 * the benchmarks' workload, on many threads.
 */
class SlicedExpositionTest {
  private static final Instant WHEN = Instant.parse("2024-01-02T03:04:05.678Z");
  private final PrometheusTextWriter writer = new PrometheusTextWriter();

  /** Renders the slices last to first (so none can depend on an earlier one having run) and compares. */
  static void assertSlicesConcatenateTo(
      ExpositionWriter writer,
      String header,
      List<SnapshotExport> exports,
      int sliceBytes,
      byte[] whole,
      WriteReport wholeReport)
      throws IOException {
    SlicedExposition sliced = writer.slice(header, exports, sliceBytes);
    int n = sliced.sliceCount();
    byte[][] parts = new byte[n][];
    List<List<String>> dropped = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      dropped.add(null);
    }
    for (int i = n - 1; i >= 0; i--) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      WriteReport report = sliced.writeSlice(i, out);
      assertThat(report.bytesWritten()).isEqualTo(out.size());
      parts[i] = out.toByteArray();
      dropped.set(i, report.droppedDataPoints());
    }
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    List<String> allDropped = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      joined.write(parts[i]);
      allDropped.addAll(dropped.get(i));
    }
    assertThat(joined.toByteArray()).as("%d slices of ~%d bytes", n, sliceBytes).isEqualTo(whole);
    assertThat(allDropped).isEqualTo(wholeReport.droppedDataPoints());
  }

  @Test
  void aNameCutBetweenSlicesKeepsItsOneHeaderAndItsDroppedPoints() throws IOException {
    // A name whose first points cannot be written (a clash, a missing value), then good ones, then one of
    // another type: the header goes with the first good point, wherever the cuts fall.
    List<SnapshotExport> exports = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      List<DataPoint> data = new ArrayList<>();
      MetricType type = i == 9 ? MetricType.GAUGE : MetricType.COUNTER;
      Labels own = i == 0 ? Labels.of("sandbox", "clash") : Labels.of("k", "v" + i);
      Value value = i == 1 ? null : Value.ofInt(i);
      data.add(new DataPoint(new Metric("x", type, "Help of x."), own, Labels.EMPTY, value, null));
      data.add(DataPoint.of(new Metric("h", MetricType.HISTOGRAM, "A histogram."), Labels.EMPTY,
          Histogram.classic(Value.ofInt(3),
              List.of(new Bucket(Value.ofInt(1), i), new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1)))));
      exports.add(new SnapshotExport(new Snapshot(WHEN, data), "runsc_", Labels.of("sandbox", "s" + i)));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = writer.write(out, "cut", exports);
    assertThat(report.droppedDataPoints()).hasSize(3);
    assertThat(out.toString()).containsOnlyOnce("# TYPE runsc_x counter").containsOnlyOnce("# TYPE runsc_h histogram");

    for (int sliceBytes = 1; sliceBytes < out.size() + 100; sliceBytes += 37) {
      assertSlicesConcatenateTo(writer, "cut", exports, sliceBytes, out.toByteArray(), report);
    }
  }
  /**
   * A rendering's buffers and tables are pooled between renderings: slices of different expositions rendered
   * at the same time on four threads, and renderings cut short by a failing stream in between, still each
   * write exactly their own text (nothing of another rendering, or of one cut short, is left in a pooled
   * buffer or table).
   */
  @Test
  void pooledRenderingStateNeverLeaksBetweenRenderings() throws Exception {
    List<List<SnapshotExport>> inputs = new ArrayList<>();
    List<byte[]> expected = new ArrayList<>();
    for (int k = 0; k < 4; k++) {
      List<SnapshotExport> exports = new ArrayList<>();
      for (int i = 0; i < 10 + 25 * k; i++) {
        List<DataPoint> data = new ArrayList<>();
        for (int m = 0; m < 6; m++) {
          // Label sets fresh per point and external labels (merged directly), and shared ones (Merges).
          data.add(new DataPoint(new Metric("m" + m, MetricType.GAUGE, "Help " + k + "."),
              m % 2 == 0 ? Labels.of("op", "o" + (m + k)) : Labels.of("cap", "c" + i),
              m % 3 == 0 ? Labels.EMPTY : Labels.of("zone", "z" + k), Value.ofInt(i * m + k), null));
        }
        exports.add(new SnapshotExport(new Snapshot(WHEN, data), "p" + k + "_", Labels.of("sandbox", "s" + i)));
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      writer.write(out, "h" + k, exports);
      inputs.add(exports);
      expected.add(out.toByteArray());
    }
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int first = t;
        done.add(threads.submit(() -> {
          for (int round = 0; round < 30; round++) {
            int k = (first + round) % 4;
            if (round % 7 == 3) {
              // Cut short after the first chunk: its pooled state goes back half used.
              SlicedExposition cut = writer.slice("h" + k, inputs.get(k), 0);
              try {
                cut.writeSlice(0, new java.io.OutputStream() {
                  @Override
                  public void write(int b) throws IOException {
                    throw new IOException("gone");
                  }

                  @Override
                  public void write(byte[] b, int off, int len) throws IOException {
                    throw new IOException("gone");
                  }
                });
              } catch (IOException expectedFailure) {
                // as intended
              }
            }
            SlicedExposition sliced = writer.slice("h" + k, inputs.get(k), 700);
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            for (int i = 0; i < sliced.sliceCount(); i++) {
              sliced.writeSlice(i, joined);
            }
            assertThat(joined.toByteArray()).as("exposition %d", k).isEqualTo(expected.get(k));
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
  }
}
