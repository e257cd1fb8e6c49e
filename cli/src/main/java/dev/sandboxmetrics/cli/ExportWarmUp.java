package dev.sandboxmetrics.cli;

import com.fasterxml.jackson.core.JsonParser;
import dev.sandboxmetrics.posix.NativeStart;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.runsc.discovery.IterationId;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Uses both cores for a one-shot {@code export-metrics}. Started by {@link Main#run} at the top of
 * {@code main} for that command: a second thread starts JNA at once ({@link NativeStart}, ~40 ms of CPU,
 * most of it {@code java.util.logging}, which JNA's classes set up), while the main thread parses the
 * command line and finds the state file. When the main thread gets to the state file's lock, the first use
 * of JNA, it calls {@link #beforeNativeUse}: while JNA is still starting, it gives itself a head start on
 * what comes after the lock (a miniature of it: parse a state-file-like document and a registration, hash an
 * iteration label, decode a sandbox's reply, open a Unix socket and a selector, render the text format: tens
 * of milliseconds of class initialization and first-use set-up); then it waits for JNA. The second thread,
 * once JNA is up, takes whatever part of that miniature the main thread has not begun.
 *
 * <p>Neither thread's warm-up can change what the command does or prints: the warm-up's failures are
 * ignored (the real work does the same and reports its own), and a failure of JNA's start is thrown to the
 * main thread by {@link #beforeNativeUse}, the very error its own first use of JNA would have thrown (the
 * second thread's attempt has used up the class initialization that would otherwise have thrown it). On one
 * core nothing is started and the command runs as it would without this class.
 */
final class ExportWarmUp implements Runnable {
  /** A small but complete reply to Metrics.Export: a counter with a label and a float gauge. */
  private static final byte[] REPLY = ("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{"
      + "\"when\":\"2024-01-01T00:00:00Z\",\"data\":[{\"metric\":{\"name\":\"fs_opens\",\"type\":2,"
      + "\"help\":\"opens\"},\"labels\":{\"op\":\"read\"},\"val\":{\"int\":3}},{\"metric\":{\"name\":\"mem\","
      + "\"type\":1,\"help\":\"mem\"},\"val\":{\"float\":1.5}}]}}}").getBytes(StandardCharsets.UTF_8);

  /** The registration of the sample's metrics, as a state file's {@code sandbox.registeredMetrics} holds it. */
  private static final byte[] REGISTRATION = ("{\"metrics\":[{\"name\":\"/fs/opens\",\"prometheus_name\":"
      + "\"fs_opens\",\"description\":\"opens\",\"cumulative\":true,\"fields\":[{\"field_name\":\"op\","
      + "\"allowed_values\":[\"read\",\"write\"]}]},{\"name\":\"/mem\",\"prometheus_name\":\"mem\","
      + "\"description\":\"mem\"}],\"stages\":[]}").getBytes(StandardCharsets.UTF_8);

  /** The parts of the miniature, in the order the real work needs them. */
  private static final int STATE_FILE = 0;
  private static final int REPLY_DECODING = 1;
  private static final int SOCKET = 2;
  private static final int RENDERING = 3;
  private static final int STEPS = 4;

  /** The warm-up of the export-metrics running in this JVM, or null (one core, another command). */
  private static volatile ExportWarmUp current;

  private final Runnable nativeStart;
  private final CountDownLatch nativeDone = new CountDownLatch(1);
  private final AtomicInteger nextStep = new AtomicInteger();
  private volatile Throwable nativeFailure;
  private volatile Snapshot sample;

  /** @param nativeStart starts JNA ({@link NativeStart#run}; another in tests) */
  ExportWarmUp(Runnable nativeStart) {
    this.nativeStart = nativeStart;
  }

  static void start() {
    if (Runtime.getRuntime().availableProcessors() < 2) {
      current = null;
      return; // on one core it would only compete with the real work
    }
    start(new ExportWarmUp(new StartJna()));
  }

  /** {@link NativeStart#run}; a class rather than a method reference, which would be linked at run time. */
  private static final class StartJna implements Runnable {
    @Override
    public void run() {
      NativeStart.run();
    }
  }

  /** Makes {@code w} the current warm-up and starts its thread. */
  static void start(ExportWarmUp w) {
    Thread t = new Thread(w, "export-warm-up");
    t.setDaemon(true); // never delays the exit
    current = w;
    t.start();
  }

  /**
   * Called by export-metrics on the main thread right before its first use of JNA: warms up what comes
   * after it while JNA is still starting, then waits for JNA.
   *
   * @throws Error or RuntimeException: what JNA's start threw on the second thread
   */
  static void beforeNativeUse() {
    ExportWarmUp w = current;
    if (w == null) {
      return;
    }
    while (w.nativeDone.getCount() > 0 && w.step()) {
      // the next part of the miniature, until JNA is up or nothing is left
    }
    w.awaitNative();
  }

  @Override
  public void run() {
    try {
      nativeStart.run();
    } catch (Throwable t) {
      nativeFailure = t; // thrown to the main thread at its first use of JNA
    } finally {
      nativeDone.countDown();
    }
    while (step()) {
      // what the main thread has not begun
    }
  }

  private void awaitNative() {
    boolean interrupted = false;
    while (true) {
      try {
        nativeDone.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // JNA's start is short; the interrupt is kept for the command to see
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable t = nativeFailure;
    if (t instanceof Error e) {
      throw e;
    }
    if (t instanceof RuntimeException e) {
      throw e;
    }
  }

  /** How many parts of the miniature have been begun (by either thread), for tests. */
  int stepsBegun() {
    return Math.min(nextStep.get(), STEPS);
  }

  static int steps() {
    return STEPS;
  }

  /** Runs the next part of the miniature nobody has begun; false when none is left. */
  private boolean step() {
    int step = nextStep.getAndIncrement();
    if (step >= STEPS) {
      return false;
    }
    try {
      switch (step) {
        case STATE_FILE -> {
          // Part of JNA's start that need not wait for the rest of it: JNA 5.19 subclasses SecurityManager,
          // whose class initialization walks every module's packages (~9 ms). The JNA thread gets there after
          // java.util.logging's set-up, by which time this thread has done it (or it finds it under way).
          Class.forName("java.lang.SecurityManager");
          parseSampleStateFile();
          IterationId.of("warm-up", Instant.EPOCH); // the first SHA-256 starts the JDK's security providers
        }
        case REPLY_DECODING -> sample = decodeSample();
        case SOCKET -> {
          try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.configureBlocking(false);
            Selector.open().close();
          }
        }
        case RENDERING -> {
          Snapshot s = sample;
          render(s != null ? s : decodeSample(), OutputStream.nullOutputStream());
        }
        default -> throw new AssertionError(step);
      }
    } catch (Throwable ignored) {
      // Only a head start: the real work does the same and reports its own failures.
    }
    return true;
  }

  /** jackson-core's streaming parser over a registration, as discovery reads a state file, and the registration. */
  static Registration parseSampleStateFile() throws IOException, RunscJsonException {
    try (JsonParser p = RunscJson.factory().createParser(REGISTRATION)) {
      while (p.nextToken() != null) {
        p.getText();
      }
    }
    return RunscJson.readRegistration(REGISTRATION, 0, REGISTRATION.length);
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
