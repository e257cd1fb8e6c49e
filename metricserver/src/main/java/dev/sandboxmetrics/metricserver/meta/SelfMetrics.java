package dev.sandboxmetrics.metricserver.meta;

import dev.sandboxmetrics.metricserver.collect.QueryObserver;
import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.status.FailureReason;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's metrics about its own work, rendered with the prefix {@code <exporter-prefix>meta_} after
 * runsc's meta metrics: how long {@code /metrics} takes, how long each sandbox query takes and how large
 * the replies are, failed queries by reason, and the open HTTP connections. The process and JVM basics are
 * in {@link ProcessMetrics}.
 *
 * <p>Recording is a few adder increments per scrape and per sandbox query (told by the collector and the
 * metrics endpoint); the snapshot is built only at the end of a {@code /metrics} response. Thread-safe.
 */
public final class SelfMetrics implements QueryObserver {
  /** Seconds, 1 ms to 30 s: a local scrape takes milliseconds, the export deadline is 30 s. */
  static final double[] DURATION_BUCKETS = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
  };
  /** Bytes, 1 KiB to 64 MiB by factors of 4: past the default --max-reply-bytes (8 MiB), for raised limits. */
  static final double[] SIZE_BUCKETS = {
    1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26
  };

  public static final Metric SCRAPE_DURATION = new Metric("scrape_duration_seconds", MetricType.HISTOGRAM,
      "Time to answer a /metrics request, from its arrival to the last byte, in seconds.");
  public static final Metric QUERY_DURATION = new Metric("sandbox_query_duration_seconds", MetricType.HISTOGRAM,
      "Time of one sandbox query, from its start (on a kept connection or a new one) to the verified snapshot"
          + " (or the failure), in seconds.");
  public static final Metric REPLY_SIZE = new Metric("sandbox_reply_size_bytes", MetricType.HISTOGRAM,
      "Size of the sandboxes' replies whose snapshot was served, in bytes.");
  public static final Metric QUERY_FAILURES = new Metric("sandbox_query_failures_total", MetricType.COUNTER,
      "Queries of running sandboxes that gave no data, by reason.");
  public static final Metric OPEN_CONNECTIONS = new Metric("http_connections_open", MetricType.GAUGE,
      "HTTP client connections open right now.");
  public static final String REASON_LABEL = "reason";

  private final AdderHistogram scrapeDuration = new AdderHistogram(DURATION_BUCKETS);
  private final AdderHistogram queryDuration = new AdderHistogram(DURATION_BUCKETS);
  private final AdderHistogram replySize = new AdderHistogram(SIZE_BUCKETS);
  private final LongAdder[] failures = new LongAdder[FailureReason.values().length];
  private final IntSupplier openConnections;

  /** @param openConnections the HTTP server's count of open client connections */
  public SelfMetrics(IntSupplier openConnections) {
    this.openConnections = openConnections;
    for (int i = 0; i < failures.length; i++) {
      failures[i] = new LongAdder();
    }
  }

  /** One /metrics request answered (or failed) after {@code nanos}. */
  public void scraped(long nanos) {
    scrapeDuration.observe(nanos / 1e9);
  }

  @Override
  public void queried(SandboxResult result, long nanos) {
    queryDuration.observe(nanos / 1e9);
    if (result.succeeded()) {
      int bytes = result.sandbox().lastReplyBytes();
      if (bytes > 0) {
        replySize.observe(bytes);
      }
    } else if (result.broken()) {
      failures[FailureReason.of(result).ordinal()].increment();
    }
  }

  /** The snapshot to render with the prefix {@code <exporter-prefix>meta_}. */
  public Snapshot snapshot(Instant now) {
    List<DataPoint> points = new ArrayList<>(4 + failures.length);
    points.add(DataPoint.of(SCRAPE_DURATION, Labels.EMPTY, scrapeDuration.histogram()));
    points.add(DataPoint.of(QUERY_DURATION, Labels.EMPTY, queryDuration.histogram()));
    points.add(DataPoint.of(REPLY_SIZE, Labels.EMPTY, replySize.histogram()));
    // Every reason from the start, at 0: rate() and alerts see a failure's first occurrence.
    for (FailureReason reason : FailureReason.values()) {
      points.add(DataPoint.of(
          QUERY_FAILURES, Labels.of(REASON_LABEL, reason.label()), Value.ofInt(failures[reason.ordinal()].sum())));
    }
    points.add(DataPoint.of(OPEN_CONNECTIONS, Labels.EMPTY, Value.ofInt(openConnections.getAsInt())));
    return new Snapshot(now, points);
  }

  /**
   * A histogram of fixed bounds kept in adders: an observation is two increments and an add, no lock. A
   * snapshot read while observations arrive may be off by those in flight, as with any such exporter.
   */
  static final class AdderHistogram {
    private final double[] bounds;
    /** One per bound, then the +Inf bucket; not cumulative. */
    private final LongAdder[] counts;
    private final DoubleAdder sum = new DoubleAdder();

    AdderHistogram(double[] bounds) {
      this.bounds = bounds.clone();
      this.counts = new LongAdder[bounds.length + 1];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double v) {
      int i = 0;
      while (i < bounds.length && v > bounds[i]) {
        i++;
      }
      counts[i].increment();
      sum.add(v);
    }

    Histogram histogram() {
      List<Bucket> buckets = new ArrayList<>(counts.length);
      for (int i = 0; i < bounds.length; i++) {
        buckets.add(new Bucket(Value.ofFloat(bounds[i]), counts[i].sum()));
      }
      buckets.add(new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), counts[bounds.length].sum()));
      return Histogram.classic(Value.ofFloat(sum.sum()), buckets);
    }
  }
}
