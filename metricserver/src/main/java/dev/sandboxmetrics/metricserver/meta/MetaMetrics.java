package dev.sandboxmetrics.metricserver.meta;

import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The metrics the server writes about itself and the sandboxes it knows (docs/runsc-protocol.md section 8): one
 * snapshot rendered with the prefix {@code <exporter-prefix>meta_}, whose per-sandbox points carry the
 * sandbox's labels as external labels, and {@code process_start_time_seconds}, rendered with no prefix.
 *
 * <p>Which sandbox gets which line follows runsc: presence, running, checkpointed, restored and the
 * time-saved gauges for every known sandbox; metadata, capabilities, spec metadata and creation time only for
 * sandboxes whose export succeeded. Used by the metrics endpoint once per export.
 */
public final class MetaMetrics {
  /** Put between the exporter prefix and the names below. */
  public static final String PREFIX = "meta_";

  public static final Metric SANDBOX_PRESENCE =
      gauge("sandbox_presence", "Boolean metric set to 1 for each known sandbox.");
  public static final Metric SANDBOX_RUNNING =
      gauge("sandbox_running", "Boolean metric set to 1 for each running sandbox.");
  public static final Metric SANDBOX_CHECKPOINTED =
      gauge("sandbox_checkpointed", "Boolean metric set to 1 for each checkpointed sandbox.");
  public static final Metric SANDBOX_RESTORED =
      gauge("sandbox_restored", "Boolean metric set to 1 for each restored sandbox.");
  public static final Metric SANDBOX_CPU_TIME_SAVED =
      gauge("sandbox_cpu_time_saved_milliseconds", "CPU time saved by restoring the sandbox (milliseconds; 0 unless restored).");
  public static final Metric SANDBOX_WALL_TIME_SAVED =
      gauge("sandbox_wall_time_saved_milliseconds", "Wall time saved by restoring the sandbox (milliseconds; 0 unless restored).");
  public static final Metric SANDBOX_METADATA =
      gauge("sandbox_metadata", "Key-value pairs about the sandbox, from its state file (set to 1).");
  public static final Metric SANDBOX_CAPABILITIES =
      gauge("sandbox_capabilities", "Linux capabilities in any capability set of any container of the sandbox (set to 1).");
  public static final Metric SPEC_METADATA =
      gauge("spec_metadata", "Key-value pairs about the OCI specs of the sandbox's containers (set to 1).");
  public static final Metric SANDBOX_CREATION_TIME =
      gauge("sandbox_creation_time_seconds", "When the sandbox was created, as a Unix timestamp in seconds.");
  public static final Metric METRIC_SERVER_PRESENCE =
      gauge("metric_server_presence", "Boolean metric always set to 1 for the metric server process.");
  public static final Metric NUM_SANDBOXES_RUNNING =
      gauge("num_sandboxes_running", "Number of running sandboxes in this export.");
  public static final Metric NUM_SANDBOXES_BROKEN =
      gauge("num_sandboxes_broken_metrics", "Number of running sandboxes whose metrics could not be exported or verified.");
  public static final Metric NUM_SANDBOXES_TOTAL =
      new Metric("num_sandboxes_total", MetricType.COUNTER, "Number of sandboxes ever registered with this metric server.");
  public static final Metric NUM_SANDBOXES_CHECKPOINTED =
      new Metric("num_sandboxes_checkpointed", MetricType.COUNTER, "Number of checkpointed sandboxes in this export.");
  public static final Metric NUM_SANDBOXES_RESTORED =
      new Metric("num_sandboxes_restored", MetricType.COUNTER, "Number of restored sandboxes in this export.");
  public static final Metric REFUSED_CONNECTIONS =
      new Metric(
          "refused_connections_total",
          MetricType.COUNTER,
          "HTTP connections closed unserved: reason peer_credentials (caller not in the Unix socket's allow-list) "
              + "or max_connections (closed to stay within --max-connections).");
  public static final String REASON_LABEL = "reason";
  public static final Metric PROCESS_START_TIME =
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");

  public static final String CAPABILITY_LABEL = "capability";
  private static final String CAP_PREFIX = "CAP_";

  private MetaMetrics() {}

  /** Counts from one export, for tests and logs. */
  public record Counts(int running, int broken, int checkpointed, int restored) {}

  /**
   * The meta snapshot for one export.
   *
   * @param results one per known sandbox, in the order the lines should appear (by sandbox ID, iteration)
   * @param capabilityFilter keeps a capability when it accepts the name with or without {@code CAP_}; null
   *     keeps all
   * @param sandboxesEverRegistered for {@code num_sandboxes_total}
   */
  public static Snapshot snapshot(
      List<SandboxResult> results, Predicate<String> capabilityFilter, long sandboxesEverRegistered, Instant now) {
    List<DataPoint> points = new ArrayList<>(results.size() * 12 + 6);
    int running = 0;
    int broken = 0;
    int checkpointed = 0;
    int restored = 0;
    for (SandboxResult r : results) {
      ServedSandbox sandbox = r.sandbox();
      ServedSandbox.Facts facts = sandbox.facts();
      running += r.running() ? 1 : 0;
      checkpointed += facts.checkpointed() ? 1 : 0;
      restored += facts.restored() ? 1 : 0;
      broken += r.broken() ? 1 : 0;
      SandboxPoints p = SandboxPoints.of(sandbox, capabilityFilter);
      points.add(p.presence);
      points.add(r.running() ? p.running : p.notRunning);
      Collections.addAll(points, p.state);
      if (r.succeeded()) {
        Collections.addAll(points, p.ofExported);
      }
    }
    points.add(DataPoint.of(METRIC_SERVER_PRESENCE, Labels.EMPTY, Value.ofInt(1)));
    points.add(DataPoint.of(NUM_SANDBOXES_RUNNING, Labels.EMPTY, Value.ofInt(running)));
    points.add(DataPoint.of(NUM_SANDBOXES_BROKEN, Labels.EMPTY, Value.ofInt(broken)));
    points.add(DataPoint.of(NUM_SANDBOXES_TOTAL, Labels.EMPTY, Value.ofInt(sandboxesEverRegistered)));
    points.add(DataPoint.of(NUM_SANDBOXES_CHECKPOINTED, Labels.EMPTY, Value.ofInt(checkpointed)));
    points.add(DataPoint.of(NUM_SANDBOXES_RESTORED, Labels.EMPTY, Value.ofInt(restored)));
    return new Snapshot(now, points);
  }

  /** The server's own connection counters, rendered with the same prefix as {@link #snapshot}. */
  public static Snapshot connectionsSnapshot(long refusedByPeer, long closedForLimit, Instant now) {
    return new Snapshot(
        now,
        List.of(
            DataPoint.of(REFUSED_CONNECTIONS, Labels.of(REASON_LABEL, "max_connections"), Value.ofInt(closedForLimit)),
            DataPoint.of(REFUSED_CONNECTIONS, Labels.of(REASON_LABEL, "peer_credentials"), Value.ofInt(refusedByPeer))));
  }

  /** The unprefixed process snapshot: {@code process_start_time_seconds}. */
  public static Snapshot processSnapshot(Instant processStart, Instant now) {
    return processSnapshot(processStart, now, List.of());
  }

  /**
   * The unprefixed process snapshot: {@code process_start_time_seconds} as runsc writes it, then
   * {@code more} (the process and JVM self-metrics).
   */
  public static Snapshot processSnapshot(Instant processStart, Instant now, List<DataPoint> more) {
    List<DataPoint> points = new ArrayList<>(1 + more.size());
    points.add(DataPoint.of(PROCESS_START_TIME, Labels.EMPTY, Value.ofFloat(seconds(processStart))));
    points.addAll(more);
    return new Snapshot(now, points);
  }

  /** The counts behind the global lines, recomputed from results (for logs and tests). */
  public static Counts counts(List<SandboxResult> results) {
    int running = 0;
    int broken = 0;
    int checkpointed = 0;
    int restored = 0;
    for (SandboxResult r : results) {
      running += r.running() ? 1 : 0;
      broken += r.broken() ? 1 : 0;
      checkpointed += r.sandbox().facts().checkpointed() ? 1 : 0;
      restored += r.sandbox().facts().restored() ? 1 : 0;
    }
    return new Counts(running, broken, checkpointed, restored);
  }

  /**
   * One sandbox's points, all of which depend on its facts alone (and on whether it runs): made once per
   * {@link ServedSandbox} and kept in its memo, so a scrape adds the same points, with the same label-set
   * instances, instead of a dozen new points and label sets per sandbox (0.4 MB a scrape at 100 sandboxes;
   * and the writer, which keys work by label-set instance, then saw new ones every time).
   */
  private static final class SandboxPoints {
    final DataPoint presence;
    final DataPoint running;
    final DataPoint notRunning;
    /** Checkpointed, restored, CPU and wall time saved. */
    final DataPoint[] state;
    /** Metadata, capabilities, spec metadata, creation time: only for a sandbox whose export succeeded. */
    final DataPoint[] ofExported;

    private SandboxPoints(ServedSandbox sandbox, Predicate<String> filter) {
      ServedSandbox.Facts facts = sandbox.facts();
      Labels labels = sandbox.labels();
      presence = point(SANDBOX_PRESENCE, Labels.EMPTY, labels, Value.ofInt(1));
      running = point(SANDBOX_RUNNING, Labels.EMPTY, labels, flag(true));
      notRunning = point(SANDBOX_RUNNING, Labels.EMPTY, labels, flag(false));
      long cpuSaved = facts.restored() ? facts.cpuTimeSaved().toMillis() : 0;
      long wallSaved = facts.restored() ? facts.wallTimeSaved().toMillis() : 0;
      state = new DataPoint[] {
        point(SANDBOX_CHECKPOINTED, Labels.EMPTY, labels, flag(facts.checkpointed())),
        point(SANDBOX_RESTORED, Labels.EMPTY, labels, flag(facts.restored())),
        point(SANDBOX_CPU_TIME_SAVED, Labels.EMPTY, labels, Value.ofInt(cpuSaved)),
        point(SANDBOX_WALL_TIME_SAVED, Labels.EMPTY, labels, Value.ofInt(wallSaved)),
      };
      List<DataPoint> exported = new ArrayList<>(facts.capabilities().size() + 3);
      exported.add(point(SANDBOX_METADATA, Labels.of(facts.metricMetadata()), labels, Value.ofInt(1)));
      for (String capability : facts.capabilities()) {
        String trimmed = capability.startsWith(CAP_PREFIX) ? capability.substring(CAP_PREFIX.length()) : capability;
        if (filter != null && !filter.test(capability) && !filter.test(trimmed)) {
          continue;
        }
        exported.add(point(SANDBOX_CAPABILITIES, capabilityLabels(trimmed), labels, Value.ofInt(1)));
      }
      exported.add(point(SPEC_METADATA, Labels.of(facts.specMetadata()), labels, Value.ofInt(1)));
      exported.add(point(SANDBOX_CREATION_TIME, Labels.EMPTY, labels, Value.ofFloat(seconds(facts.createdAt()))));
      ofExported = exported.toArray(new DataPoint[0]);
    }

    /**
     * The sandbox's points: without a capability filter (a scrape's usual case) its memo, made on first
     * use; with one (a query parameter, a new predicate per request) new points, leaving the memo alone.
     */
    static SandboxPoints of(ServedSandbox sandbox, Predicate<String> filter) {
      if (filter != null) {
        return new SandboxPoints(sandbox, filter);
      }
      if (sandbox.metaMemo() instanceof SandboxPoints p) {
        return p;
      }
      SandboxPoints p = new SandboxPoints(sandbox, null);
      sandbox.setMetaMemo(p);
      return p;
    }
  }

  /**
   * {@code capability=<name>}, one instance per name for all sandboxes (a node's sandboxes list the same
   * few dozen capabilities), so the writer meets a few dozen label sets instead of one per sandbox and
   * capability. Bounded: names past {@link #CAPABILITY_LABELS_KEPT} get a label set of their own.
   */
  private static Labels capabilityLabels(String name) {
    Labels l = CAPABILITY_LABELS.get(name);
    if (l == null) {
      l = Labels.of(CAPABILITY_LABEL, name);
      if (CAPABILITY_LABELS.size() < CAPABILITY_LABELS_KEPT) {
        Labels raced = CAPABILITY_LABELS.putIfAbsent(name, l);
        l = raced == null ? l : raced;
      }
    }
    return l;
  }

  private static final int CAPABILITY_LABELS_KEPT = 256;
  private static final ConcurrentHashMap<String, Labels> CAPABILITY_LABELS = new ConcurrentHashMap<>();

  private static double seconds(Instant t) {
    return t.getEpochSecond() + t.getNano() / 1e9;
  }

  private static Value flag(boolean b) {
    return Value.ofInt(b ? 1 : 0);
  }

  private static DataPoint point(Metric metric, Labels labels, Labels sandboxLabels, Value value) {
    return new DataPoint(metric, labels, sandboxLabels, value, null);
  }

  private static Metric gauge(String name, String help) {
    return new Metric(name, MetricType.GAUGE, help);
  }
}
