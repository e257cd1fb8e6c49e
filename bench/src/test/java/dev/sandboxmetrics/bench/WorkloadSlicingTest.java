package dev.sandboxmetrics.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SlicedExposition;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * {@code PrometheusTextWriter#slice} on the benchmarks' workload (the body /metrics renders in parallel and
 * gzips in parts): the slices, rendered on any thread in any order, concatenate to exactly the whole
 * exposition, and their number follows the slice size. snapshot's SlicedExpositionTest covers the edge
 * cases (a metric name cut between slices, dropped data points) on hand-made snapshots.
 */
class WorkloadSlicingTest {
  private final PrometheusTextWriter writer = new PrometheusTextWriter();

  private static List<SnapshotExport> exports(int sandboxes) {
    Workload workload = new Workload(sandboxes);
    List<SnapshotExport> exports = new ArrayList<>();
    for (int i = 0; i < sandboxes; i++) {
      exports.add(new SnapshotExport(workload.snapshots.get(i), "runsc_", workload.labels.get(i)));
    }
    return exports;
  }

  private byte[] whole(List<SnapshotExport> exports) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writer.write(out, "bench", exports);
    return out.toByteArray();
  }

  /** Renders the slices last to first, so that none can rely on an earlier one having run. */
  private byte[] joinedBackwards(SlicedExposition sliced) throws IOException {
    byte[][] parts = new byte[sliced.sliceCount()][];
    for (int i = parts.length - 1; i >= 0; i--) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertThat(sliced.writeSlice(i, out).bytesWritten()).isEqualTo(out.size());
      parts[i] = out.toByteArray();
    }
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      joined.write(part);
    }
    return joined.toByteArray();
  }

  @Test
  void workloadInSlicesOfManySizesIsTheWholeOutput() throws IOException {
    List<SnapshotExport> exports = exports(40);
    byte[] whole = whole(exports);
    for (int sliceBytes : new int[] {0, 1, 999, 16 * 1024, 64 * 1024, 256 * 1024, 64 << 20}) {
      assertThat(joinedBackwards(writer.slice("bench", exports, sliceBytes)))
          .as("slices of ~%d bytes", sliceBytes)
          .isEqualTo(whole);
    }
  }

  @Test
  void sliceCountFollowsTheSize() throws IOException {
    List<SnapshotExport> exports = exports(40);
    int size = whole(exports).length;

    assertThat(writer.slice("bench", exports, 0).sliceCount()).isEqualTo(1);
    assertThat(writer.slice("bench", exports, size * 4).sliceCount()).isEqualTo(1);
    assertThat(writer.slice("bench", exports, size / 4).sliceCount())
        .as("slices of a quarter of %d bytes", size)
        .isBetween(3, 6);
    assertThat(writer.slice("bench", exports, size / 64).sliceCount()).isBetween(40, 100);
    assertThat(writer.slice("bench", List.of(), 1000).sliceCount()).isZero();
  }

  @Test
  void slicesRenderedConcurrentlyOnManyThreadsAreTheWholeOutput() throws Exception {
    List<SnapshotExport> exports = exports(30);
    byte[] whole = whole(exports);
    SlicedExposition sliced = writer.slice("bench", exports, 8 * 1024);
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<byte[]>> parts = new ArrayList<>();
      for (int i = 0; i < sliced.sliceCount(); i++) {
        int slice = i;
        parts.add(threads.submit(() -> {
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          sliced.writeSlice(slice, out);
          return out.toByteArray();
        }));
      }
      ByteArrayOutputStream joined = new ByteArrayOutputStream();
      for (Future<byte[]> part : parts) {
        joined.write(part.get());
      }
      assertThat(joined.toByteArray()).isEqualTo(whole);
    } finally {
      threads.shutdownNow();
    }
  }
}
