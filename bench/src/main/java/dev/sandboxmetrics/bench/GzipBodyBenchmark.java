package dev.sandboxmetrics.bench;

import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SlicedExposition;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The gzip {@code /metrics} body of N bench sandboxes as the server makes it (issue 13), on one thread:
 * the exposition cut into slices of {@code sliceBytes} (128 KB in the server), each rendered into a
 * {@link ParallelGzip.Part} and deflated,
 * primed with the last {@code dictionary} bytes of the slice before it (16384 is what the server does; 0
 * starts each slice with an empty window, as it did before). {@link #renderSlices} is the same rendering
 * without compression, so the difference is what gzip costs. The set-up prints each body's compressed size.
 * Run with {@code bench/run-jmh GzipBodyBenchmark} (the CPU-time profiler's {@code cpu.worker.norm} is
 * the number to compare on a busy machine).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class GzipBodyBenchmark {
  @Param({"100", "1000"})
  int sandboxes;

  @Param({"1"})
  int level;

  /** How much text goes into a slice; the server's is 131072 (MetricsEndpoint.SLICE_BYTES). */
  @Param({"131072"})
  int sliceBytes;

  @Param({"16384", "0"})
  int dictionary;

  private final PrometheusTextWriter writer = new PrometheusTextWriter();
  private List<SnapshotExport> exports;
  private ParallelGzip gzip;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    Workload workload = new Workload(sandboxes);
    exports = new ArrayList<>(sandboxes);
    for (int i = 0; i < sandboxes; i++) {
      exports.add(new SnapshotExport(workload.snapshots.get(i), "runsc_", workload.labels.get(i)));
    }
    gzip = new ParallelGzip(level, 1);
    System.out.printf("%n%d sandboxes, level %d, slices of %d, dictionary %d: %d bytes compressed%n", sandboxes, level,
        sliceBytes, dictionary, gzipBody());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    gzip.close();
  }

  /** The compressed size of the body (header, parts and trailer). */
  @Benchmark
  public long gzipBody() throws IOException {
    SlicedExposition sliced = writer.slice("benchmark", exports, sliceBytes);
    long size = ParallelGzip.HEADER.length + 8;
    ParallelGzip.Dictionary tail = null;
    int n = sliced.sliceCount();
    for (int i = 0; i < n; i++) {
      try (ParallelGzip.Part part = gzip.start()) {
        sliced.writeSlice(i, part);
        ParallelGzip.Dictionary before = tail;
        tail = dictionary > 0 && i < n - 1 ? part.dictionary(dictionary) : null;
        size += part.crc() & 1; // the server computes it; keep it in the measure
        ParallelGzip.Output out = part.finish(i == n - 1, before);
        size += out.length();
        gzip.recycle(out);
      }
    }
    return size;
  }

  /**
   * The same slices rendered and dropped: the part of {@link #gzipBody} that is not gzip (run it with
   * {@code -p dictionary=0}: the parameter does not apply).
   */
  @Benchmark
  public long renderSlices() throws IOException {
    SlicedExposition sliced = writer.slice("benchmark", exports, sliceBytes);
    long size = 0;
    for (int i = 0; i < sliced.sliceCount(); i++) {
      size += sliced.writeSlice(i, OutputStream.nullOutputStream()).bytesWritten();
    }
    return size;
  }

  /**
   * {@link #renderSlices} with each piece the renderer hands over copied into a new array, as the plain
   * multi-slice body keeps a slice's text until it is its turn to be sent: the difference is that copy.
   */
  @Benchmark
  public long renderSlicesCopied() throws IOException {
    SlicedExposition sliced = writer.slice("benchmark", exports, sliceBytes);
    long size = 0;
    for (int i = 0; i < sliced.sliceCount(); i++) {
      List<byte[]> pieces = new ArrayList<>();
      sliced.writeSlice(i, new OutputStream() {
        @Override
        public void write(int b) {
          pieces.add(new byte[] {(byte) b});
        }

        @Override
        public void write(byte[] b, int off, int len) {
          pieces.add(java.util.Arrays.copyOfRange(b, off, off + len));
        }
      });
      size += pieces.size();
    }
    return size;
  }
}
