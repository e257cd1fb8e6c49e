package dev.sandboxmetrics.bench;

import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import dev.sandboxmetrics.snapshot.verify.Verifier;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The steps of every scrape, separately and together (framing, decode, verify, render), for N sandboxes on one thread: decode each
 * sandbox's reply, verify it against its registration, render all of them into one response. Run with
 * {@code -prof gc} to see bytes allocated per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
public class ScrapePathBenchmark {
  @Param({"1", "10", "100", "1000"})
  int sandboxes;

  // Package-private for JacksonFramerTest, which checks that both framers find the ends of these replies.
  Workload workload;
  private List<Verifier> verifiers;
  private List<SnapshotExport> exports;
  private final PrometheusTextWriter writer = new PrometheusTextWriter();
  private final JsonValueFramer framer = new JsonValueFramer();
  private final JacksonFramer jacksonFramer = new JacksonFramer();
  static final int READ_BYTES = 16 * 1024;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    workload = new Workload(sandboxes);
    exports = new ArrayList<>(sandboxes);
    for (int i = 0; i < sandboxes; i++) {
      exports.add(new SnapshotExport(workload.snapshots.get(i), "runsc_", workload.labels.get(i)));
    }
    freshVerifiers();
  }

  // A verifier remembers the last snapshot; the same snapshot again is accepted (nothing decreased and the
  // time did not go backwards), so reusing verifiers measures the steady state of a server.
  private void freshVerifiers() throws Exception {
    verifiers = new ArrayList<>(sandboxes);
    for (int i = 0; i < sandboxes; i++) {
      Verifier v = Verifier.forRegistration(workload.registration);
      v.verify(workload.snapshots.get(i), workload.when);
      verifiers.add(v);
    }
  }

  @Benchmark
  public void decode(Blackhole bh) throws Exception {
    for (byte[] json : workload.snapshotJson) {
      bh.consume(RunscJson.readSnapshot(json, 0, json.length));
    }
  }

  /**
   * Finding where each reply ends, as the control client does on the event loop before decoding (uRPC has
   * no length prefix): the bytes come in pieces of {@value #READ_BYTES}, as socket reads deliver them.
   */
  @Benchmark
  public int frame() throws Exception {
    return frameAll(framer::reset, framer::feed);
  }

  /**
   * {@link #frame} with Jackson's non-blocking parser ({@link JacksonFramer}), the same inputs and reads:
   * issue 14 would have replaced the framer with it if it were not slower. It was (see JsonValueFramer).
   */
  @Benchmark
  public int frameJackson() throws Exception {
    return frameAll(jacksonFramer::reset, jacksonFramer::feed);
  }

  /** What both framers offer (they share no type: Jackson's lives here only for the comparison). */
  @FunctionalInterface
  private interface Feed {
    int feed(byte[] buf, int off, int len) throws RunscJsonException;
  }

  /** Frames every reply in reads of {@value #READ_BYTES}; the sum of the ends, for the blackhole. */
  private int frameAll(Runnable reset, Feed feed) throws RunscJsonException {
    int ends = 0;
    for (byte[] json : workload.snapshotJson) {
      reset.run();
      for (int off = 0; off < json.length; off += READ_BYTES) {
        int end = feed.feed(json, off, Math.min(READ_BYTES, json.length - off));
        if (end >= 0) {
          ends += end;
          break;
        }
      }
    }
    return ends;
  }

  @Benchmark
  public void verify() throws Exception {
    for (int i = 0; i < sandboxes; i++) {
      verifiers.get(i).verify(workload.snapshots.get(i), workload.when);
    }
  }

  @Benchmark
  public void render(Blackhole bh) throws Exception {
    bh.consume(writer.write(OutputStream.nullOutputStream(), "benchmark", exports));
  }

  /** Decode, verify and render: what one scrape of N sandboxes costs the server's CPU, minus the I/O. */
  @Benchmark
  public void decodeVerifyRender(Blackhole bh) throws Exception {
    List<SnapshotExport> scraped = new ArrayList<>(sandboxes);
    for (int i = 0; i < sandboxes; i++) {
      byte[] json = workload.snapshotJson.get(i);
      Snapshot s = RunscJson.readSnapshot(json, 0, json.length);
      verifiers.get(i).verify(s, workload.when);
      scraped.add(new SnapshotExport(s, "runsc_", workload.labels.get(i)));
    }
    bh.consume(writer.write(OutputStream.nullOutputStream(), "benchmark", scraped));
  }
}
