package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.runsc.discovery.IterationId;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Runs, on a second core, a miniature of what {@code export-metrics} does after it has read the state file
 * (hash the iteration label, decode a sandbox's reply, open a Unix socket and a selector, render the text
 * format), while the main thread starts JNA for the state file's lock. The first run of that code costs
 * tens of milliseconds of class initialization and first-use set-up; done here meanwhile, the main thread finds it ready. Started
 * by {@link Main#run} for {@code export-metrics} on a machine with more than one core; a daemon thread
 * that ignores its own failures, so it can neither change the output nor delay the exit.
 */
final class ExportWarmUp implements Runnable {
  /** A small but complete reply to Metrics.Export: a counter with a label and a float gauge. */
  private static final byte[] REPLY = ("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{"
      + "\"when\":\"2024-01-01T00:00:00Z\",\"data\":[{\"metric\":{\"name\":\"fs_opens\",\"type\":2,"
      + "\"help\":\"opens\"},\"labels\":{\"op\":\"read\"},\"val\":{\"int\":3}},{\"metric\":{\"name\":\"mem\","
      + "\"type\":1,\"help\":\"mem\"},\"val\":{\"float\":1.5}}]}}}").getBytes(StandardCharsets.UTF_8);

  static void start() {
    if (Runtime.getRuntime().availableProcessors() < 2) {
      return; // on one core it would only compete with the real work
    }
    Thread t = new Thread(new ExportWarmUp(), "export-warm-up");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void run() {
    try {
      // The first SHA-256 (for the iteration label) starts the JDK's security providers: tens of ms.
      IterationId.of("warm-up", Instant.EPOCH);
      Snapshot snapshot = decodeSample();
      try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        channel.configureBlocking(false);
        Selector.open().close();
      }
      render(snapshot, OutputStream.nullOutputStream());
    } catch (Throwable ignored) {
      // Only a head start: the real work does the same and reports its own failures.
    }
  }

  /** The sample reply, decoded and checked as a sandbox's would be. */
  static Snapshot decodeSample() throws ControlException {
    return ControlProtocol.decodeExportReply(REPLY, 0, REPLY.length, MetricNameFilter.compile(""), Path.of("warm-up"));
  }

  static void render(Snapshot snapshot, OutputStream out) throws IOException {
    new PrometheusTextWriter().write(out, "warm-up",
        List.of(new SnapshotExport(snapshot, "runsc_", Labels.of(Map.of("sandbox", "warm-up")))));
  }
}
