package dev.sandboxmetrics.metricserver.scrape;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SlicedExposition;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import dev.sandboxmetrics.snapshot.text.WriteReport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A body rendered and compressed slice by slice on several threads is, once decompressed, byte for byte the
 * text the writer writes in one piece; it is one gzip member; and neither a failing slice, nor an executor
 * that is busy or refuses work, leaves the response (or the executor) stuck.
 */
@Timeout(60)
class ParallelExpositionTest {
  private static final Instant WHEN = Instant.parse("2024-01-02T03:04:05.678Z");
  private static final int SLICE_BYTES = 16 * 1024;

  private final PrometheusTextWriter writer = new PrometheusTextWriter();
  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final ParallelGzip gzip = new ParallelGzip(1, 3);

  @AfterEach
  void stop() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    gzip.close();
  }

  @Test
  void gzipBodyIsOneMemberOfTheWholeTextRenderedOnSeveralThreads() throws Exception {
    List<SnapshotExport> exports = sandboxes(150);
    byte[] plain = plain(exports);
    Recording sliced = new Recording(writer.slice("h", exports, SLICE_BYTES));
    assertThat(sliced.sliceCount()).isGreaterThan(20);

    ByteArrayOutputStream body = new ByteArrayOutputStream();
    WriteReport report = new ParallelExposition(sliced, pool, 4, gzip).write(body);

    assertThat(report.bytesWritten()).isEqualTo(plain.length);
    assertThat(new GZIPInputStream(new ByteArrayInputStream(body.toByteArray())).readAllBytes()).isEqualTo(plain);
    assertThat(singleMember(body.toByteArray())).isEqualTo(plain);
    assertThat(sliced.threads).as("threads that rendered slices").hasSizeGreaterThan(1);
  }

  @Test
  void plainBodyIsTheWholeText() throws Exception {
    List<SnapshotExport> exports = sandboxes(80);
    ByteArrayOutputStream body = new ByteArrayOutputStream();

    WriteReport report = new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), pool, 4, null).write(body);

    assertThat(body.toByteArray()).isEqualTo(plain(exports));
    assertThat(report.bytesWritten()).isEqualTo(body.size());
  }

  /** Several sandbox counts and slice sizes (so the cuts fall in different places), on two workers. */
  @ParameterizedTest
  @CsvSource({"1, 1024", "7, 1024", "7, 4096", "60, 2000", "60, 16384", "150, 5000", "150, 65536", "400, 131072"})
  void everyBodyDecompressesToThePlainTextByteForByte(int sandboxes, int sliceBytes) throws Exception {
    List<SnapshotExport> exports = sandboxes(sandboxes);
    byte[] plain = plain(exports);

    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    new ParallelExposition(writer.slice("h", exports, sliceBytes), pool, 4, gzip).write(zipped);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    new ParallelExposition(writer.slice("h", exports, sliceBytes), pool, 4, null).write(text);

    assertThat(singleMember(zipped.toByteArray())).isEqualTo(plain);
    assertThat(new GZIPInputStream(new ByteArrayInputStream(zipped.toByteArray())).readAllBytes()).isEqualTo(plain);
    assertThat(text.toByteArray()).isEqualTo(plain);
  }

  /**
   * Each slice's deflater is primed with the end of the slice before it, so the body is about as small as
   * the text deflated in one stream (without, these 150 sandboxes in 16 KB slices came out 22% larger). One
   * thread renders every slice here (the executor refuses work), so every slice finds the one before it
   * rendered, as the workers almost always do.
   */
  @Test
  void slicesCompressAboutAsWellAsOneStream() throws Exception {
    List<SnapshotExport> exports = sandboxes(150);
    byte[] plain = plain(exports);
    ByteArrayOutputStream body = new ByteArrayOutputStream();

    new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), command -> {
      throw new RejectedExecutionException("all on the calling thread");
    }, 4, gzip).write(body);

    assertThat(singleMember(body.toByteArray())).isEqualTo(plain);
    int oneStream = oneStream(plain);
    assertThat(body.size()).isLessThan(oneStream + oneStream / 50);
  }

  @Test
  void oneSliceIsRenderedByTheCallingThreadAlone() throws Exception {
    List<SnapshotExport> exports = sandboxes(2);
    Recording sliced = new Recording(writer.slice("h", exports, 1 << 20));
    assertThat(sliced.sliceCount()).isEqualTo(1);
    ByteArrayOutputStream body = new ByteArrayOutputStream();

    new ParallelExposition(sliced, command -> {
      throw new AssertionError("no hand-off expected for one slice");
    }, 4, gzip).write(body);

    assertThat(singleMember(body.toByteArray())).isEqualTo(plain(exports));
    assertThat(sliced.threads).containsExactly(Thread.currentThread().getName());
  }

  @Test
  void anExecutorThatRefusesWorkLeavesItAllToTheCallingThread() throws Exception {
    List<SnapshotExport> exports = sandboxes(60);
    ByteArrayOutputStream body = new ByteArrayOutputStream();

    new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), command -> {
      throw new RejectedExecutionException("shutting down");
    }, 4, gzip).write(body);

    assertThat(singleMember(body.toByteArray())).isEqualTo(plain(exports));
  }

  @Test
  void anExecutorWhoseThreadsAreAllBusyDoesNotStallTheBody() throws Exception {
    List<SnapshotExport> exports = sandboxes(60);
    ExecutorService busy = Executors.newSingleThreadExecutor();
    CountDownLatch release = new CountDownLatch(1);
    try {
      busy.execute(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      ByteArrayOutputStream body = new ByteArrayOutputStream();

      new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), busy, 4, gzip).write(body);

      assertThat(singleMember(body.toByteArray())).isEqualTo(plain(exports));
    } finally {
      release.countDown();
      busy.shutdownNow();
    }
  }

  @Test
  void aFailingSliceFailsTheResponseAndThePoolServesTheNextOne() throws Exception {
    List<SnapshotExport> exports = sandboxes(60);
    SlicedExposition good = writer.slice("h", exports, SLICE_BYTES);
    SlicedExposition failing = new SlicedExposition() {
      @Override
      public int sliceCount() {
        return good.sliceCount();
      }

      @Override
      public WriteReport writeSlice(int slice, OutputStream out) throws IOException {
        if (slice == 3) {
          throw new IllegalStateException("renderer bug");
        }
        return good.writeSlice(slice, out);
      }
    };

    assertThatThrownBy(() -> new ParallelExposition(failing, pool, 4, gzip).write(new ByteArrayOutputStream()))
        .isInstanceOf(IOException.class)
        .hasRootCauseMessage("renderer bug");

    ByteArrayOutputStream body = new ByteArrayOutputStream();
    new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), pool, 4, gzip).write(body);
    assertThat(singleMember(body.toByteArray())).isEqualTo(plain(exports));
  }

  @Test
  void aClientThatGoesAwayStopsTheBody() {
    List<SnapshotExport> exports = sandboxes(60);
    OutputStream closed = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("the client closed the connection");
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("the client closed the connection");
      }
    };

    assertThatThrownBy(() -> new ParallelExposition(writer.slice("h", exports, SLICE_BYTES), pool, 4, gzip)
        .write(closed)).isInstanceOf(IOException.class).hasMessageContaining("closed");
  }

  @Test
  void aPooledTextIsNeverHandedOutTwiceWhileInUseAndComesBackEmpty() {
    List<ParallelExposition.Text> taken = new ArrayList<>();
    for (int i = 0; i < ParallelExposition.Text.POOLED + 3; i++) {
      ParallelExposition.Text t = ParallelExposition.Text.take();
      t.write(new byte[] {(byte) i}, 0, 1);
      assertThat(taken).noneMatch(other -> other == t || other.bytes == t.bytes);
      taken.add(t);
    }
    taken.forEach(ParallelExposition.Text::giveBack);
    ParallelExposition.Text again = ParallelExposition.Text.take();
    assertThat(taken).anyMatch(t -> t == again);
    assertThat(again.length).isZero();
    // One grown far beyond a slice is not kept.
    again.write(new byte[2 * 1024 * 1024], 0, 2 * 1024 * 1024);
    ParallelExposition.Text.giveBack(again);
    for (int i = 0; i < ParallelExposition.Text.POOLED; i++) {
      assertThat(ParallelExposition.Text.take()).isNotSameAs(again);
    }
  }

  /**
   * Bodies of every size one after the other reuse the pooled arrays (the slices' text, the parts'
   * dictionaries and deflate data, the renderer's buffers), grown for one body and then used for smaller
   * ones: each is still exactly its own text.
   */
  @Test
  void manyBodiesOfVaryingSizesStayExactlyTheirText() throws Exception {
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 40; i++) {
      List<SnapshotExport> exports = sandboxes(1 + random.nextInt(i % 5 == 0 ? 300 : 40));
      int sliceBytes = 1024 << random.nextInt(8);
      byte[] plain = plain(exports);
      ByteArrayOutputStream text = new ByteArrayOutputStream();
      ByteArrayOutputStream zipped = new ByteArrayOutputStream();

      new ParallelExposition(writer.slice("h", exports, sliceBytes), pool, 4, null).write(text);
      new ParallelExposition(writer.slice("h", exports, sliceBytes), pool, 4, gzip).write(zipped);

      assertThat(text.toByteArray()).as("body %d", i).isEqualTo(plain);
      assertThat(singleMember(zipped.toByteArray())).as("body %d", i).isEqualTo(plain);
    }
  }

  /** Responses at the same time share the pools (and the workers); none sees another's bytes. */
  @Test
  void concurrentBodiesShareThePoolsWithoutMixingTheirBytes() throws Exception {
    ExecutorService scrapes = Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int first = t;
        done.add(scrapes.submit(() -> {
          for (int i = 0; i < 12; i++) {
            List<SnapshotExport> exports = sandboxes(5 + 37 * ((first + i) % 4));
            byte[] plain = plain(exports);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            boolean zip = (first + i) % 2 == 0;
            new ParallelExposition(writer.slice("h", exports, 8 * 1024), pool, 4, zip ? gzip : null).write(body);
            assertThat(zip ? singleMember(body.toByteArray()) : body.toByteArray()).isEqualTo(plain);
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      scrapes.shutdownNow();
    }
  }

  private static byte[] singleMember(byte[] body) throws Exception {
    return dev.sandboxmetrics.metricserver.http.GzipBodies.singleMember(body);
  }

  /** The size of the text as one gzip member deflated in one stream at the same level. */
  private static int oneStream(byte[] text) {
    Deflater d = new Deflater(1, true);
    try {
      d.setInput(text);
      d.finish();
      byte[] out = new byte[text.length + 1024];
      int n = 0;
      while (!d.finished()) {
        n += d.deflate(out, n, out.length - n);
      }
      return ParallelGzip.HEADER.length + n + 8;
    } finally {
      d.end();
    }
  }

  private byte[] plain(List<SnapshotExport> exports) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writer.write(out, "h", exports);
    return out.toByteArray();
  }

  /** Sandboxes with counters, labelled gauges and a histogram each: all kinds of lines, cut anywhere. */
  private static List<SnapshotExport> sandboxes(int n) {
    List<SnapshotExport> exports = new ArrayList<>();
    for (int s = 0; s < n; s++) {
      List<DataPoint> data = new ArrayList<>();
      for (int m = 0; m < 20; m++) {
        data.add(DataPoint.of(new Metric("counter_" + m, MetricType.COUNTER, "Counter " + m + "."), Labels.EMPTY,
            Value.ofInt(s * 1000L + m)));
      }
      for (String op : new String[] {"read", "write", "other"}) {
        data.add(DataPoint.of(new Metric("ops", MetricType.GAUGE, "Operations."), Labels.of("op", op),
            Value.ofFloat(s / 3.0)));
      }
      data.add(DataPoint.of(new Metric("latency", MetricType.HISTOGRAM, "Latency."), Labels.EMPTY,
          Histogram.classic(Value.ofInt(s), List.of(new Bucket(Value.ofInt(10), s),
              new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1)))));
      exports.add(new SnapshotExport(new Snapshot(WHEN, data), "runsc_",
          Labels.of("sandbox", "sandbox-" + s, "iteration", "it" + s)));
    }
    return exports;
  }

  /**
   * Records which threads rendered slices. Slice 0 (which the calling thread takes first) waits until
   * another thread has rendered a slice, so that the test sees the other threads at work however loaded
   * the machine is.
   */
  private static final class Recording implements SlicedExposition {
    final SlicedExposition inner;
    final Set<String> threads = ConcurrentHashMap.newKeySet();
    final CountDownLatch otherThreadRendered = new CountDownLatch(1);

    Recording(SlicedExposition inner) {
      this.inner = inner;
    }

    @Override
    public int sliceCount() {
      return inner.sliceCount();
    }

    @Override
    public WriteReport writeSlice(int slice, OutputStream out) throws IOException {
      threads.add(Thread.currentThread().getName());
      if (slice == 0 && inner.sliceCount() > 1) {
        try {
          otherThreadRendered.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      } else if (slice > 0) {
        WriteReport r = inner.writeSlice(slice, out);
        otherThreadRendered.countDown();
        return r;
      }
      return inner.writeSlice(slice, out);
    }
  }
}
