package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.UntrustedText;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.verify.VerificationException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One export's worth of sandbox queries (docs/runsc-protocol.md section 7): every sandbox is asked for its metrics
 * at once over the non-blocking {@link EventDrivenControlClient}, each with its own deadline, and each reply is
 * decoded, checked against the filter and verified: on the event loop that received it when the reply was
 * decoded there as it arrived (the usual case; handing ~20 us of work to a worker cost more in wake-ups), on
 * the worker executor otherwise. A sandbox that fails in any way
 * costs only its own data: its {@link SandboxResult} says why, the others are unaffected.
 *
 * <p>Each sandbox's connection is kept for its next query ({@link KeptConnections}) once its reply was
 * decoded; a reply that cannot be decoded closes it.
 *
 * <p>runsc queries with 8 workers and gives each sandbox max(8 s, 30 s / n) inside a 30 s export. We query
 * up to {@code maxParallel} sandboxes at a time (open connections are the only cost), so a sandbox gets the
 * per-sandbox timeout from the moment its query starts, cut short by the export deadline. When there are
 * more sandboxes than that, they are started in a random order, as runsc does. And a query that has heard
 * nothing for {@link #QUIET_AFTER} stops counting against {@code maxParallel} (it still waits for its
 * reply until its own deadline): otherwise a thousand stalled sandboxes would hold every slot for their
 * whole timeout, round after round, and healthy sandboxes that drew late turns would miss the export
 * deadline. A real sandbox starts answering within milliseconds.
 *
 * <p>The protocol (encoding the call, judging the reply, sandbox text made safe) is
 * {@link ControlProtocol}'s, as for the blocking client; failures carry a {@link SandboxResult.Reason}, and
 * warnings are rate-limited by that kind ({@link FailureLog}).
 *
 * <p>Used by the metrics endpoint, once per /metrics request.
 */
public final class Collector {
  private static final Logger log = LoggerFactory.getLogger(Collector.class);
  private static final FailureLog failureLog = new FailureLog(log);
  /** How long a query may hear nothing before it stops holding a parallelism slot. */
  static final Duration QUIET_AFTER = Duration.ofSeconds(1);

  private final EventDrivenControlClient client;
  private final Executor work;
  private final Duration exportTimeout;
  private final Duration sandboxTimeout;
  private final int maxParallel;
  private final QueryObserver observer;
  private final long maxSeries;
  private final ConcurrentHashMap<QueryKey, CompletableFuture<SandboxResult>> inFlight = new ConcurrentHashMap<>();

  /** One sandbox incarnation asked with one filter. */
  private record QueryKey(String sandboxId, String iteration, String filter) {}

  public Collector(
      EventDrivenControlClient client, Executor work, Duration exportTimeout, Duration sandboxTimeout,
      int maxParallel) {
    this(client, work, exportTimeout, sandboxTimeout, maxParallel, Long.MAX_VALUE, QueryObserver.NONE);
  }

  /**
   * @param maxSeries the most series a sandbox's registration may allow ({@code --max-series-per-sandbox});
   *     a sandbox over it is broken without being asked
   * @param observer told about each query's result and duration (the status page, the self-metrics)
   */
  public Collector(
      EventDrivenControlClient client,
      Executor work,
      Duration exportTimeout,
      Duration sandboxTimeout,
      int maxParallel,
      long maxSeries,
      QueryObserver observer) {
    this.maxSeries = maxSeries;
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
    /** Queries that gave their slot back early (quiet), so that finishing them does not give it back again. */
    private final java.util.Set<Integer> slotFreed = new java.util.HashSet<>();

    Run(List<ServedSandbox> sandboxes, MetricNameFilter filter) {
      this.sandboxes = sandboxes;
      this.filter = filter;
      this.call = ControlProtocol.exportCall(filter);
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
        offload(i, () -> failed(sandbox, SandboxResult.Reason.REGISTRATION,
            "invalid metric registration in its state file: " + UntrustedText.forLog(sandbox.registrationError())));
        return;
      }
      long series = sandbox.verifier().registeredSeries();
      if (series > maxSeries) {
        offload(i, () -> failed(sandbox, SandboxResult.Reason.TOO_MANY_SERIES, "its registration allows " + series
            + " series (label combinations and histogram lines), more than --max-series-per-sandbox=" + maxSeries));
        return;
      }
      long left = exportDeadline - System.nanoTime();
      if (left <= 0) {
        offload(i, () -> failed(sandbox, SandboxResult.Reason.DEADLINE,
            "the export deadline (" + exportTimeout.toSeconds() + "s) passed before this sandbox's turn"));
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
            ? new SandboxResult(sandbox, r.snapshot(), r.error(), r.running(), r.reason())
            : failed(sandbox, SandboxResult.Reason.OTHER, "internal error: " + e)));
        return;
      }
      mine.whenComplete((r, e) -> inFlight.remove(key, mine));
      Duration timeout = Duration.ofNanos(Math.min(left, sandboxTimeout.toNanos()));
      CompletableFuture<EventDrivenControlClient.Reply> reply;
      try {
        reply = client.call(sandbox.controlSocket(), KeptConnections.Key.of(sandbox), call, timeout,
            sandbox.lastReplyBytes(), QUIET_AFTER, () -> freeSlot(i));
      } catch (RuntimeException e) {
        reply = CompletableFuture.failedFuture(e);
      }
      reply.whenComplete((r, e) -> {
        if (e == null && r.decoded() != null) {
          // Decoded on the event loop as it arrived: what is left (checks, verifying, the filter) is bounded
          // by the registration's series and done here, on the loop, rather than handed to a worker: a
          // hand-off per sandbox woke a parked worker thread and cost more than the work.
          publish(i, mine, safely(sandbox, () -> decode(sandbox, r)));
        } else {
          offload(i, mine, () -> e == null ? decode(sandbox, r) : failed(sandbox, e));
        }
      });
    }

    /** A quiet query stops counting against the parallelism (once); the next sandbox may start. */
    private void freeSlot(int i) {
      synchronized (this) {
        if (results[i] != null || !slotFreed.add(i)) {
          return;
        }
        active--;
      }
      startMore();
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
        publish(i, shared, failed(sandbox, SandboxResult.Reason.SHUTTING_DOWN, "the server is shutting down"));
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
        if (!slotFreed.contains(i)) {
          active--;
        }
        last = --remaining == 0;
      }
      if (last) {
        done.complete(Collections.unmodifiableList(Arrays.asList(results)));
      } else {
        startMore();
      }
    }

    private SandboxResult decode(ServedSandbox sandbox, EventDrivenControlClient.Reply reply) {
      Snapshot snapshot;
      try {
        sandbox.recordReplyBytes(reply.length());
        ExportReply export = reply.decoded();
        if (export == null) {
          export = ControlProtocol.readExportReply(
              reply.bytes(), 0, reply.length(), EventDrivenControlClient.POLICY, null);
        }
        snapshot = ControlProtocol.checkExportReply(export, null);
      } catch (ControlException e) {
        reply.discardConnection(); // a reply we cannot use: the next call gets a new connection
        return failed(sandbox, e);
      } catch (RuntimeException e) {
        reply.discardConnection();
        throw e;
      } finally {
        reply.release(); // the bytes are decoded (or useless): give them back to the budget
      }
      try {
        sandbox.verifier().verify(snapshot, Instant.now());
      } catch (VerificationException e) {
        return failed(sandbox, SandboxResult.Reason.VERIFICATION, "verification failed: " + e.getMessage());
      }
      // After verifying: every name is then a registered one, so the filter (which may be a large program)
      // meets a bounded set of short names, each matched once per filter.
      try {
        ControlProtocol.checkFilter(snapshot, filter, null);
      } catch (ControlException e) {
        return failed(sandbox, e);
      }
      return SandboxResult.ok(sandbox, snapshot, sandbox.isRunning());
    }
  }

  private static SandboxResult safely(ServedSandbox sandbox, Supplier<SandboxResult> task) {
    try {
      return task.get();
    } catch (RuntimeException e) {
      log.warn("Unexpected failure while processing sandbox {}", UntrustedText.forLog(sandbox.id()), e);
      return failed(sandbox, SandboxResult.Reason.OTHER, "internal error: " + UntrustedText.forLog(e.toString()));
    }
  }

  private static SandboxResult failed(ServedSandbox sandbox, String reason, String why) {
    return SandboxResult.failed(sandbox, reason, why, sandbox.isRunning());
  }

  /** A failed call, by its kind; the text names no socket (the log line names the sandbox). */
  private static SandboxResult failed(ServedSandbox sandbox, Throwable e) {
    Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (t instanceof ControlException c) {
      return failed(sandbox, reason(c.kind()), UntrustedText.forLog(c.problem(), 1000));
    }
    return failed(sandbox, SandboxResult.Reason.OTHER, "cannot query the sandbox: " + UntrustedText.forLog(t.toString()));
  }

  private static String reason(ControlException.Kind kind) {
    return switch (kind) {
      case TIMED_OUT -> SandboxResult.Reason.TIMEOUT;
      case CONNECTION_REFUSED, PERMISSION_DENIED -> SandboxResult.Reason.REFUSED;
      case SOCKET_MISSING -> SandboxResult.Reason.MISSING;
      case CLOSED_WITHOUT_REPLY -> SandboxResult.Reason.CLOSED;
      case MALFORMED_REPLY -> SandboxResult.Reason.MALFORMED;
      case REPLY_TOO_LARGE -> SandboxResult.Reason.TOO_LARGE;
      case REMOTE_ERROR -> SandboxResult.Reason.REMOTE_ERROR;
      case FILTER_VIOLATED -> SandboxResult.Reason.FILTER_VIOLATED;
      case IO_ERROR -> SandboxResult.Reason.OTHER;
    };
  }

  private static void report(SandboxResult result) {
    ServedSandbox sandbox = result.sandbox();
    String error = result.broken() ? result.error() : null;
    // News per sandbox is judged by the kind of failure, so a text that changes (a byte count, a time)
    // is not news; and warnings are rate-limited per kind across sandboxes.
    if (!sandbox.recordOutcome(error == null ? null : result.reason())) {
      if (error != null && log.isDebugEnabled()) {
        log.debug("Could not export metrics from sandbox {} (again): {}", UntrustedText.forLog(sandbox.toString()),
            error);
      }
      return;
    }
    if (error != null) {
      failureLog.warn(result.reason(),
          "Could not export metrics from sandbox " + UntrustedText.forLog(sandbox.toString()) + ": " + error);
    } else if (result.succeeded()) {
      log.info("Exporting metrics from sandbox {} works (again).", UntrustedText.forLog(sandbox.toString()));
    }
  }
}
