package dev.sandboxmetrics.metricserver.status;

import dev.sandboxmetrics.metricserver.collect.QueryObserver;
import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.registry.ScanObserver;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.runsc.discovery.SandboxInfo;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Everything the server knows about every sandbox in its root directory, for the status page
 * ({@code /sandboxes}): the served sandboxes (from the registry) with the outcome of their last query (told
 * by the collector), and the sandboxes it does not serve with the reason (told by the registry's scans).
 *
 * <p>It only records: a query's outcome is a map put, a scan's findings a few; the page assembles the rows
 * when someone asks. Entries of sandboxes whose state files are gone are dropped at the next scan, so it
 * holds no more than the root directory does. Thread-safe.
 */
public final class SandboxStatus implements ScanObserver, QueryObserver {
  private static final String POD_NAME = "pod_name";
  private static final String NAMESPACE_NAME = "namespace_name";
  /**
   * The longest error kept for the page. A sandbox chooses its error text (up to --max-reply-bytes long);
   * the page needs its beginning, not megabytes of it held for as long as the sandbox is served.
   */
  static final int MAX_ERROR_CHARS = 2000;

  /** The last query of a served sandbox's incarnation. */
  private record LastQuery(
      String iteration,
      long nanos,
      String error,
      FailureReason reason,
      boolean running,
      long replyBytes,
      long series,
      Instant at,
      Instant lastServed) {}

  /** A sandbox found in the root directory and not served, with why. */
  private record NotServed(
      SandboxState state, String why, String iteration, long pid, String podName, String namespace) {}

  private final Supplier<List<ServedSandbox>> served;
  private final String address;
  private final String rootDir;
  private final Clock clock;
  private final Map<String, LastQuery> queries = new ConcurrentHashMap<>();
  private final Map<String, NotServed> notServed = new ConcurrentHashMap<>();

  /**
   * @param served the sandboxes served right now, without a rescan (the registry's {@code current()})
   * @param address this server's {@code --metric-server} address, to tell another server's sandboxes
   * @param rootDir the {@code --root} string, which replaces {@code %RUNTIME_ROOT%} in addresses
   */
  public SandboxStatus(Supplier<List<ServedSandbox>> served, String address, String rootDir, Clock clock) {
    this.served = served;
    this.address = address;
    this.rootDir = rootDir;
    this.clock = clock;
  }

  // ---- told by the collector ----

  @Override
  public void queried(SandboxResult result, long nanos) {
    ServedSandbox sandbox = result.sandbox();
    Instant now = clock.instant();
    LastQuery previous = queries.get(sandbox.id());
    Instant lastServed =
        result.succeeded()
            ? now
            : previous != null && previous.iteration().equals(sandbox.iteration()) ? previous.lastServed() : null;
    long series = result.succeeded() ? seriesOf(result.snapshot()) : -1;
    if (!result.succeeded() && previous != null && previous.iteration().equals(sandbox.iteration())) {
      series = previous.series();
    }
    int replyBytes = sandbox.lastReplyBytes();
    queries.put(
        sandbox.id(),
        new LastQuery(
            sandbox.iteration(),
            nanos,
            shortened(result.error()),
            FailureReason.of(result),
            result.running(),
            replyBytes > 0 ? replyBytes : -1,
            series,
            now,
            lastServed));
  }

  /** The lines a snapshot becomes: one per data point, a histogram's buckets plus its sum and count. */
  static long seriesOf(Snapshot snapshot) {
    // Counted at every query of every sandbox: an indexed loop, which C1 neither allocates an iterator
    // for nor calls through interfaces (see FixedList).
    long n = 0;
    for (int i = 0, points = snapshot.pointCount(); i < points; i++) {
      Histogram h = snapshot.point(i).histogram();
      n += h == null ? 1 : h.bucketCount() + 2;
    }
    return n;
  }

  // ---- told by the registry's scans ----

  @Override
  public void listed(Set<String> sandboxIds) {
    queries.keySet().retainAll(sandboxIds);
    notServed.keySet().retainAll(sandboxIds);
  }

  @Override
  public void locked(String sandboxId) {
    NotServed known = notServed.get(sandboxId);
    notServed.put(
        sandboxId,
        new NotServed(
            SandboxState.LOCKED,
            "a state file is locked: runsc is creating or changing the sandbox; looked at again at the next scan",
            known == null ? "" : known.iteration(),
            known == null ? 0 : known.pid(),
            known == null ? "" : known.podName(),
            known == null ? "" : known.namespace()));
  }

  @Override
  public void unreadable(String sandboxId, String why) {
    notServed.put(sandboxId, new NotServed(SandboxState.UNREADABLE_STATE_FILE, shortened(why), "", 0, "", ""));
  }

  @Override
  public void notServed(String sandboxId, SandboxInfo info, String why) {
    if (info == null) {
      notServed.put(sandboxId, new NotServed(SandboxState.NOT_RUNNING, why, "", 0, "", ""));
      return;
    }
    Labels labels = info.labels();
    notServed.put(
        sandboxId,
        new NotServed(
            stateOf(info), why, info.iteration(), info.pid(), orEmpty(labels.get(POD_NAME)), orEmpty(labels.get(NAMESPACE_NAME))));
  }

  @Override
  public void stopped(ServedSandbox sandbox) {
    Labels labels = sandbox.labels();
    notServed.put(
        sandbox.id(),
        new NotServed(
            SandboxState.NOT_RUNNING,
            "its process " + sandbox.facts().pid() + " is gone",
            sandbox.iteration(),
            sandbox.facts().pid(),
            orEmpty(labels.get(POD_NAME)),
            orEmpty(labels.get(NAMESPACE_NAME))));
  }

  /** The same order of checks as the registry's: address, then registration, then liveness. */
  private SandboxState stateOf(SandboxInfo info) {
    if (info.metricServerAddress().isEmpty()) {
      return SandboxState.NO_METRICS;
    }
    if (!info.wantsServer(address, rootDir)) {
      return SandboxState.OTHER_METRIC_SERVER;
    }
    if (info.registration() == null) {
      return SandboxState.NO_METRICS;
    }
    return SandboxState.NOT_RUNNING;
  }

  // ---- read by the page ----

  /** Every known sandbox, sorted by ID: the served ones first looked up, then those not served. */
  public List<SandboxRow> rows() {
    TreeMap<String, SandboxRow> rows = new TreeMap<>();
    for (ServedSandbox s : served.get()) {
      LastQuery q = queries.get(s.id());
      if (q != null && !q.iteration().equals(s.iteration())) {
        q = null; // the last query was of an earlier incarnation
      }
      SandboxState state =
          q == null || q.error() == null
              ? SandboxState.SERVED
              : q.running() ? SandboxState.BROKEN : SandboxState.NOT_RUNNING;
      Labels labels = s.labels();
      rows.put(
          s.id(),
          new SandboxRow(
              s.id(),
              orEmpty(labels.get(POD_NAME)),
              orEmpty(labels.get(NAMESPACE_NAME)),
              s.iteration(),
              s.facts().pid(),
              state,
              q == null || q.error() == null ? "" : q.error(),
              q == null ? null : q.reason(),
              q == null ? -1 : q.nanos(),
              q == null ? -1 : q.replyBytes(),
              q == null ? -1 : q.series(),
              q == null ? null : q.lastServed(),
              q == null ? null : q.at()));
    }
    for (Map.Entry<String, NotServed> e : notServed.entrySet()) {
      NotServed n = e.getValue();
      // A sandbox served until it stopped keeps its last query's columns: when it was last served, say.
      LastQuery q = queries.get(e.getKey());
      if (q != null && !q.iteration().equals(n.iteration())) {
        q = null;
      }
      rows.putIfAbsent(
          e.getKey(),
          new SandboxRow(
              e.getKey(),
              n.podName(),
              n.namespace(),
              n.iteration(),
              n.pid(),
              n.state(),
              n.why(),
              null,
              q == null ? -1 : q.nanos(),
              q == null ? -1 : q.replyBytes(),
              q == null ? -1 : q.series(),
              q == null ? null : q.lastServed(),
              q == null ? null : q.at()));
    }
    return new ArrayList<>(rows.values());
  }

  static String shortened(String error) {
    if (error == null || error.length() <= MAX_ERROR_CHARS) {
      return error;
    }
    int end = Character.isHighSurrogate(error.charAt(MAX_ERROR_CHARS - 1)) ? MAX_ERROR_CHARS - 1 : MAX_ERROR_CHARS;
    return error.substring(0, end) + "... (" + (error.length() - end) + " more characters)";
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
