package dev.sandboxmetrics.metricserver.scrape;

import dev.sandboxmetrics.bench.BenchSandboxes;
import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.metricserver.meta.MetaMetrics;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
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
 * The whole {@code /metrics} body of N bench sandboxes as the server renders it (issue 13, third pass), on one
 * thread, from decoded snapshots on: the sandboxes' exports plus the meta snapshot (made anew on every scrape,
 * as {@code MetricsEndpoint} does: ~23 lines per sandbox whose labels are the sandbox's, many with labels of
 * their own, such as the 14 capabilities the simulator reports), cut into the server's 128 KB slices and
 * written by the server's own {@link ParallelExposition}, gzip or plain, into a stream that only counts. Its
 * executor drops the slices it is offered, so the calling thread renders them all, in order (each gzip part
 * primed with the slice before, as when two workers keep pace). {@code GzipBodyBenchmark} measures the
 * sandboxes' exports alone, without the meta snapshot. The number to read is {@code gc.alloc.rate.norm}
 * (bytes allocated per body): what the server's collector pays for.
 *
 * <p>In this package because {@link ParallelExposition} is package-private. Run with
 * {@code bench/run-jmh ServerBodyBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class ServerBodyBenchmark {
  @Param({"100"})
  int sandboxes;

  private static final int SLICE_BYTES = 128 * 1024;
  private static final int WINDOW = 4;
  /** Offered slices are never run: the writing thread renders every slice itself. */
  private static final Executor NOBODY = task -> {};

  private final PrometheusTextWriter writer = new PrometheusTextWriter();
  private List<SnapshotExport> exports;
  private List<SandboxResult> results;
  private ParallelGzip gzip;

  @Setup(Level.Trial)
  public void setUp() {
    BenchSandboxes workload = new BenchSandboxes(sandboxes);
    exports = new ArrayList<>(sandboxes);
    results = new ArrayList<>(sandboxes);
    for (int i = 0; i < sandboxes; i++) {
      Snapshot snapshot = workload.snapshot(i);
      Labels labels = workload.labels(i);
      exports.add(new SnapshotExport(snapshot, "runsc_", labels));
      results.add(SandboxResult.ok(served(i, labels), snapshot, true));
    }
    gzip = new ParallelGzip(1, 3);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    gzip.close();
  }

  @Benchmark
  public long gzipBody() throws IOException {
    return body(gzip);
  }

  @Benchmark
  public long plainBody() throws IOException {
    return body(null);
  }

  private long body(ParallelGzip compress) throws IOException {
    Instant now = Instant.now();
    List<SnapshotExport> all = new ArrayList<>(exports.size() + 3);
    all.addAll(exports);
    all.add(new SnapshotExport(MetaMetrics.snapshot(results, null, sandboxes, now), "runsc_meta_", Labels.EMPTY));
    all.add(new SnapshotExport(MetaMetrics.connectionsSnapshot(0, 0, now), "runsc_meta_", Labels.EMPTY));
    all.add(new SnapshotExport(MetaMetrics.processSnapshot(now, now), "", Labels.EMPTY));
    Counting out = new Counting();
    new ParallelExposition(writer.slice("benchmark", all, SLICE_BYTES), NOBODY, WINDOW, compress).write(out);
    return out.count;
  }

  /** A sandbox with the facts the simulator's state files give (metadata, 14 capabilities, spec metadata). */
  private static ServedSandbox served(int i, Labels labels) {
    ServedSandbox.Facts facts =
        new ServedSandbox.Facts(
            labels.get("sandbox"),
            Instant.ofEpochSecond(1_700_000_000L + i, 250_000_000),
            labels.get("iteration"),
            labels,
            Path.of("/nonexistent/" + i + ".sock"),
            1000 + i,
            false,
            false,
            null,
            null,
            Map.ofEntries(
                Map.entry("coretags", "false"), Map.entry("cpuarch", "amd64"), Map.entry("experiment", ""),
                Map.entry("fsmode", "directfs"), Map.entry("go", "go1.24.1"), Map.entry("network", "sandbox"),
                Map.entry("numcores", "2"), Map.entry("overlay", "root:self"), Map.entry("platform", "systrap"),
                Map.entry("version", "sandbox-metrics-simulator")),
            List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
                "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",
                "CAP_AUDIT_WRITE", "CAP_SETFCAP"),
            Map.of("hasuid0", "true", "ociversion", "1.0.2", "nvproxy", "false", "tpuproxy", "false"));
    return ServedSandbox.of(facts, null, null);
  }

  /** Counts the bytes, as cheaply as a sink can; the server's stream copies them into Netty's buffers. */
  private static final class Counting extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
