package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.json.UrpcCall;
import dev.sandboxmetrics.snapshot.verify.VerificationException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One export's worth of sandbox queries (docs/runsc-protocol.md section 7): every sandbox is asked for its metrics
 * at once over the non-blocking {@link ControlSocketClient}, each with its own deadline, and each reply is
 * decoded, checked against the filter and verified on the worker executor. A sandbox that fails in any way
 * costs only its own data: its {@link SandboxResult} says why, the others are unaffected.
 *
 * <p>runsc queries with 8 workers and gives each sandbox max(8 s, 30 s / n) inside a 30 s export. We query
 * up to {@code maxParallel} sandboxes at a time (open connections are the only cost), so a sandbox gets the
 * per-sandbox timeout from the moment its query starts, cut short by the export deadline. When there are
 * more sandboxes than that, they are started in a random order, as runsc does, so that stalled sandboxes do
 * not starve the same others at every scrape.
 *
 * <p>Used by the metrics endpoint, once per /metrics request.
 */
public final class Collector {
  private static final Logger log = LoggerFactory.getLogger(Collector.class);

  private final ControlSocketClient client;
  private final Executor work;
  private final Duration exportTimeout;
  private final Duration sandboxTimeout;
  private final int maxParallel;
  private final QueryObserver observer;
  private final ConcurrentHashMap<QueryKey, CompletableFuture<SandboxResult>> inFlight = new ConcurrentHashMap<>();

  /** One sandbox incarnation asked with one filter. */
  private record QueryKey(String sandboxId, String iteration, String filter) {}

  public Collector(
      ControlSocketClient client, Executor work, Duration exportTimeout, Duration sandboxTimeout, int maxParallel) {
    this(client, work, exportTimeout, sandboxTimeout, maxParallel, QueryObserver.NONE);
  }

  /** @param observer told about each query's result and duration (the status page, the self-metrics) */
  public Collector(
      ControlSocketClient client,
      Executor work,
      Duration exportTimeout,
      Duration sandboxTimeout,
      int maxParallel,
      QueryObserver observer) {
    if (maxParallel < 1) {
      throw new IllegalArgumentException("maxParallel must be at least 1");
    }
    this.client = client;
    this.work = work;
    this.exportTimeout = exportTimeout;
    this.sandboxTimeout = sandboxTimeout;
    this.maxParallel = maxParallel;
    this.observer = observer;
  }

  /** Queries every sandbox; the results come in the order of {@code sandboxes}. Never completes exceptionally. */
  public CompletableFuture<List<SandboxResult>> collect(List<ServedSandbox> sandboxes, MetricNameFilter filter) {
    return new Run(List.copyOf(sandboxes), filter).start();
  }

  /** The state of one export. Results arrive on event loops and worker threads; the monitor guards them. */
  private final class Run {
    private final List<ServedSandbox> sandboxes;
    private final MetricNameFilter filter;
    private final byte[] call;
    private final long exportDeadline;
    private final ArrayDeque<Integer> waiting;
    private final SandboxResult[] results;
    /** When each query started (System.nanoTime), or -1 for one that shares another scrape's query. */
    private final long[] startedAt;
    private final CompletableFuture<List<SandboxResult>> done = new CompletableFuture<>();
    private int active;
    private int remaining;

    Run(List<ServedSandbox> sandboxes, MetricNameFilter filter) {
      this.sandboxes = sandboxes;
      this.filter = filter;
      this.call = encodeCall(filter);
      this.exportDeadline = System.nanoTime() + exportTimeout.toNanos();
      List<Integer> order = new ArrayList<>(sandboxes.size());
      for (int i = 0; i < sandboxes.size(); i++) {
        order.add(i);
      }
      Collections.shuffle(order, ThreadLocalRandom.current());
      this.waiting = new ArrayDeque<>(order);
      this.results = new SandboxResult[sandboxes.size()];
      this.startedAt = new long[sandboxes.size()];
      this.remaining = sandboxes.size();
    }

    CompletableFuture<List<SandboxResult>> start() {
      if (remaining == 0) {
        done.complete(List.of());
      } else {
        startMore();
      }
      return done;
    }

    private void startMore() {
      List<Integer> toStart = new ArrayList<>();
      synchronized (this) {
        while (active < maxParallel && !waiting.isEmpty()) {
          toStart.add(waiting.poll());
          active++;
        }
      }
      for (int i : toStart) {
        launch(i);
      }
    }

    private void launch(int i) {
      ServedSandbox sandbox = sandboxes.get(i);
      startedAt[i] = System.nanoTime();
      if (sandbox.verifier() == null) {
        offload(i, () -> failed(sandbox, "invalid metric registration in its state file: " + sandbox.registrationError()));
        return;
      }
      long left = exportDeadline - System.nanoTime();
      if (left <= 0) {
        offload(i, () -> failed(sandbox, "the export deadline (" + exportTimeout.toSeconds() + "s) passed before this sandbox's turn"));
        return;
      }
      // Concurrent scrapes with the same filter share one query per sandbox: half the load, and the verifier
      // never sees an older snapshot after a newer one (which it would have to reject).
      QueryKey key = new QueryKey(sandbox.id(), sandbox.iteration(), filter.expression());
      CompletableFuture<SandboxResult> mine = new CompletableFuture<>();
      CompletableFuture<SandboxResult> running = inFlight.putIfAbsent(key, mine);
      if (running != null) {
        startedAt[i] = -1; // the owner of the query reports it
        running.whenComplete((r, e) -> finish(i, r != null
            ? new SandboxResult(sandbox, r.snapshot(), r.error(), r.running())
            : failed(sandbox, "internal error: " + e)));
        return;
      }
      mine.whenComplete((r, e) -> inFlight.remove(key, mine));
      Duration timeout = Duration.ofNanos(Math.min(left, sandboxTimeout.toNanos()));
      CompletableFuture<ControlSocketClient.Reply> reply;
      try {
        reply = client.call(sandbox.controlSocket(), call, timeout, sandbox.lastReplyBytes());
      } catch (RuntimeException e) {
        reply = CompletableFuture.failedFuture(new ControlCallException("cannot start the query: " + e));
      }
      reply.whenComplete(
          (r, e) -> offload(i, mine, () -> e == null ? decode(sandbox, r) : failed(sandbox, describe(e))));
    }

    /** Runs the CPU part on a worker; if the workers refuse (shutting down), records why on this thread. */
    private void offload(int i, Supplier<SandboxResult> task) {
      offload(i, null, task);
    }

    private void offload(int i, CompletableFuture<SandboxResult> shared, Supplier<SandboxResult> task) {
      ServedSandbox sandbox = sandboxes.get(i);
      try {
        work.execute(() -> publish(i, shared, safely(sandbox, task)));
      } catch (RejectedExecutionException e) {
        publish(i, shared, failed(sandbox, "the server is shutting down"));
      }
    }

    private void publish(int i, CompletableFuture<SandboxResult> shared, SandboxResult result) {
      if (shared != null) {
        shared.complete(result);
      }
      finish(i, result);
    }

    private void finish(int i, SandboxResult result) {
      report(result);
      if (startedAt[i] >= 0) {
        try {
          observer.queried(result, System.nanoTime() - startedAt[i]);
        } catch (RuntimeException e) {
          log.warn("Recording the query of sandbox {} failed", result.sandbox().id(), e);
        }
      }
      boolean last;
      synchronized (this) {
        results[i] = result;
        active--;
        last = --remaining == 0;
      }
      if (last) {
        done.complete(Collections.unmodifiableList(Arrays.asList(results)));
      } else {
        startMore();
      }
    }

    private SandboxResult decode(ServedSandbox sandbox, ControlSocketClient.Reply reply) {
      sandbox.recordReplyBytes(reply.length());
      ExportReply export = reply.decoded();
      if (export == null) {
        try {
          export = RunscJson.readExportReply(reply.bytes(), 0, reply.length());
        } catch (RunscJsonException e) {
          return failed(sandbox, "malformed reply: " + e.getMessage());
        }
      }
      if (!export.success()) {
        return failed(sandbox, "the sandbox answered with an error: " + export.err());
      }
      Snapshot snapshot = export.snapshot();
      if (snapshot == null) {
        return failed(sandbox, "the reply holds no snapshot");
      }
      if (!filter.isAll()) {
        // The sandbox is untrusted: it must have applied the filter we sent.
        for (DataPoint point : snapshot.data()) {
          if (!filter.matches(point.metric().name())) {
            return failed(
                sandbox,
                "metric " + point.metric().name() + " does not match the requested filter \"" + filter.expression() + "\"");
          }
        }
      }
      try {
        sandbox.verifier().verify(snapshot, Instant.now());
      } catch (VerificationException e) {
        return failed(sandbox, "verification failed: " + e.getMessage());
      }
      return SandboxResult.ok(sandbox, snapshot, sandbox.isRunning());
    }
  }

  private static SandboxResult safely(ServedSandbox sandbox, Supplier<SandboxResult> task) {
    try {
      return task.get();
    } catch (RuntimeException e) {
      log.warn("Unexpected failure while processing sandbox {}", sandbox.id(), e);
      return failed(sandbox, "internal error: " + e);
    }
  }

  private static SandboxResult failed(ServedSandbox sandbox, String why) {
    return SandboxResult.failed(sandbox, why, sandbox.isRunning());
  }

  private static void report(SandboxResult result) {
    ServedSandbox sandbox = result.sandbox();
    String error = result.broken() ? result.error() : null;
    if (!sandbox.recordOutcome(error)) {
      if (error != null) {
        log.debug("Could not export metrics from sandbox {} (again): {}", sandbox, error);
      }
      return;
    }
    if (error != null) {
      log.warn("Could not export metrics from sandbox {}: {}", sandbox, error);
    } else if (result.succeeded()) {
      log.info("Exporting metrics from sandbox {} works (again).", sandbox);
    }
  }

  private static String describe(Throwable e) {
    Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    return t instanceof ControlCallException ? t.getMessage() : t.toString();
  }

  private static byte[] encodeCall(MetricNameFilter filter) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try {
      RunscJson.writeCall(out, UrpcCall.EXPORT, filter.expression());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode a call in memory", e);
    }
    return out.toByteArray();
  }
}
