package dev.sandboxmetrics.snapshot.text;

import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.OutputStream;
import java.time.Instant;
import java.util.List;

/**
 * A quick measurement, run by hand (not a test: tests make no timing claims): renders the bench workload
 * for N sandboxes into a discarding stream after warm-up and prints the time per render.
 *
 * <pre>java -cp snapshot/target/test-classes:snapshot/target/classes:JACKSON_JARS \
 *     dev.sandboxmetrics.snapshot.text.PrometheusTextWriterBenchmark [sandboxes] [seconds]</pre>
 */
public final class PrometheusTextWriterBenchmark {
  private PrometheusTextWriterBenchmark() {}

  public static void main(String[] args) throws Exception {
    int sandboxes = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
    Snapshot snapshot = BenchWorkload.benchSnapshot();
    List<SnapshotExport> exports = BenchWorkload.sandboxes(snapshot, sandboxes, Instant.now());
    PrometheusTextWriter writer = new PrometheusTextWriter();
    OutputStream discard = OutputStream.nullOutputStream();
    long bytes = 0;
    long warmUpEnd = System.nanoTime() + (long) (seconds / 2 * 1e9);
    while (System.nanoTime() < warmUpEnd) {
      bytes = writer.write(discard, "bench", exports).bytesWritten();
    }
    int renders = 0;
    long start = System.nanoTime();
    long end = start + (long) (seconds / 2 * 1e9);
    long best = Long.MAX_VALUE;
    while (System.nanoTime() < end) {
      long t0 = System.nanoTime();
      writer.write(discard, "bench", exports);
      best = Math.min(best, System.nanoTime() - t0);
      renders++;
    }
    double mean = (System.nanoTime() - start) / 1e6 / renders;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
    writer.write(discard, "bench", exports);
    long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
    System.out.printf("%d sandboxes, %d bytes per render: mean %.3f ms, best %.3f ms over %d renders;"
        + " %d bytes allocated per render%n", sandboxes, bytes, mean, best / 1e6, renders, allocated);
  }
}
