package dev.sandboxmetrics.metricserver.scrape;

import dev.sandboxmetrics.snapshot.golang.GoStrings;
import com.google.re2j.Pattern;
import dev.sandboxmetrics.metricserver.collect.Collector;
import dev.sandboxmetrics.metricserver.collect.SandboxResult;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector;
import dev.sandboxmetrics.metricserver.http.Exchange;
import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.metricserver.http.Routes;
import dev.sandboxmetrics.metricserver.http.StreamingBody;
import dev.sandboxmetrics.metricserver.meta.MetaMetrics;
import dev.sandboxmetrics.metricserver.meta.ProcessMetrics;
import dev.sandboxmetrics.metricserver.meta.SelfMetrics;
import dev.sandboxmetrics.metricserver.registry.SandboxRegistry;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.text.ExpositionWriter;
import dev.sandboxmetrics.snapshot.text.SlicedExposition;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import dev.sandboxmetrics.snapshot.text.WriteReport;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics}: one export (docs/runsc-protocol.md sections 7 and 8). Checks the filters on the event loop,
 * then on the worker executor rescans the root directory, queries every sandbox through the
 * {@link Collector} (which waits on nothing), and streams the exposition as it is rendered: the sandboxes'
 * snapshots ordered by sandbox ID and iteration, then the meta snapshot, then (unless turned off) the
 * self-metrics, then the process snapshot.
 *
 * <p>{@code ?sandbox=ID} (repeatable, exact IDs) limits the export to those sandboxes: only they are queried,
 * and only they get sandbox series and per-sandbox meta lines. The server-wide lines stay (so every target
 * of a per-sandbox scrape config is a complete exposition), with the "in this export" counts over the
 * selected sandboxes. An ID the server does not serve selects nothing; it is not an error.
 */
public final class MetricsEndpoint implements Routes.Endpoint {
  private static final Logger log = LoggerFactory.getLogger(MetricsEndpoint.class);
  static final String METRICS_FILTER = "runsc-sandbox-metrics-filter";
  static final String CAPABILITY_FILTER = "runsc-capability-filter";
  static final String SANDBOX = "sandbox";

  private final SandboxRegistry registry;
  private final Collector collector;
  private final ExpositionWriter writer;
  private final Executor work;
  private final String rootDir;
  private final String exporterPrefix;
  private final Instant processStart;
  private final SelfMetrics selfMetrics;
  private final ScrapeFilters filters = new ScrapeFilters();
  /** The HTTP server's refusal counters (peer credentials, connection limit); zero when not wired. */
  private volatile Supplier<long[]> refusedConnections = () -> new long[] {0, 0};
  /** {@code --container-stats}: asked alongside the sandboxes' metrics; null when off. */
  private final ContainerStatsCollector containerStats;
  /** The system property that sets {@link #SLICE_BYTES}, for tests. */
  static final String SLICE_BYTES_PROPERTY = "sandboxmetrics.sliceBytes";

  /** Compresses bodies for clients that take gzip, in parallel parts; null leaves it to the pipeline. */
  private volatile ParallelGzip gzip;

  /**
   * About how much text goes into one slice of a body, and so into one part of its gzip stream: large
   * enough that a part's flush and its dictionary (the last 16 KB of the slice before it, which keeps the
   * body as small as one stream's) cost little (5-15% of the deflate CPU), small enough that 100 sandboxes
   * (~3.7 MB) make a few dozen slices to spread over the workers. A body below it (a few sandboxes) is one
   * slice, rendered and compressed by the scrape's own thread. The system property
   * {@value #SLICE_BYTES_PROPERTY} changes it, for tests that need several slices from a few sandboxes.
   */
  static final int SLICE_BYTES = Integer.getInteger(MetricsEndpoint.SLICE_BYTES_PROPERTY, 128 * 1024);
  /** Slices rendered ahead of the one being sent, per response: bounds a response's memory to a few MB. */
  private static final int WINDOW = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  public MetricsEndpoint(
      SandboxRegistry registry,
      Collector collector,
      ExpositionWriter writer,
      Executor work,
      String rootDir,
      String exporterPrefix,
      Instant processStart) {
    this(registry, collector, writer, work, rootDir, exporterPrefix, processStart, null, null);
  }

  /**
   * @param selfMetrics the self-metrics to record and render, or null to leave them out
   * @param containerStats the container stats to add after the sandboxes' metrics, or null for none
   */
  public MetricsEndpoint(
      SandboxRegistry registry,
      Collector collector,
      ExpositionWriter writer,
      Executor work,
      String rootDir,
      String exporterPrefix,
      Instant processStart,
      SelfMetrics selfMetrics,
      ContainerStatsCollector containerStats) {
    this.selfMetrics = selfMetrics;
    this.containerStats = containerStats;
    this.registry = registry;
    this.collector = collector;
    this.writer = writer;
    this.work = work;
    this.rootDir = rootDir;
    this.exporterPrefix = exporterPrefix;
    this.processStart = processStart;
  }

  /**
   * Compresses {@code /metrics} bodies for clients that take gzip here, in parts made in parallel, instead
   * of in the pipeline's compressor.
   */
  public MetricsEndpoint withGzip(ParallelGzip gzip) {
    this.gzip = gzip;
    return this;
  }

  /** Wires {@code meta_refused_connections_total}: the supplier gives {refused by peer, closed for the limit}. */
  public MetricsEndpoint withRefusedConnections(Supplier<long[]> counters) {
    this.refusedConnections = counters;
    return this;
  }

  @Override
  public void handle(Exchange exchange) {
    long arrived = System.nanoTime();
    MetricNameFilter metricFilter;
    Pattern capabilityFilter;
    try {
      metricFilter = filters.metricFilter(exchange.queryParameter(METRICS_FILTER));
      capabilityFilter = filters.capabilityFilter(exchange.queryParameter(CAPABILITY_FILTER));
    } catch (ScrapeFilters.InvalidFilterException e) {
      exchange.respondError(HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    List<String> ids = exchange.query().get(SANDBOX);
    Set<String> only = ids == null ? null : new HashSet<>(ids);
    try {
      work.execute(() -> export(exchange, metricFilter, capabilityFilter, only, arrived));
    } catch (RejectedExecutionException e) {
      exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server is shutting down or overloaded");
    }
  }

  private void export(
      Exchange exchange, MetricNameFilter metricFilter, Pattern capabilityFilter, Set<String> only, long start) {
    List<ServedSandbox> sandboxes;
    try {
      sandboxes = registry.refresh();
    } catch (RuntimeException e) {
      log.warn("Cannot scan root directory {}: {}", rootDir, e.toString(), e);
      exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot scan the root directory: " + e);
      scraped(start);
      return;
    }
    if (only != null) {
      List<ServedSandbox> selected = new ArrayList<>(Math.min(only.size(), sandboxes.size()));
      for (ServedSandbox s : sandboxes) {
        if (only.contains(s.id())) {
          selected.add(s);
        }
      }
      sandboxes = selected;
    }
    long scanned = System.nanoTime();
    CompletableFuture<List<SnapshotExport>> stats = containerStats == null
        ? CompletableFuture.completedFuture(List.of())
        : containerStats.collect(sandboxes, metricFilter);
    collector
        .collect(sandboxes, metricFilter)
        .whenComplete((r, e) -> {
          if (log.isDebugEnabled()) {
            long now = System.nanoTime();
            log.debug("Scan took {} ms, queries {} ms.", (scanned - start) / 1_000_000, (now - scanned) / 1_000_000);
          }
        })
        .thenCombine(stats, (results, extra) -> (Runnable) () ->
            render(exchange, results, extra, metricFilter, capabilityFilter, start))
        .thenAcceptAsync(Runnable::run, work)
        .exceptionally(
            e -> {
              log.warn("Export failed", e);
              if (!exchange.answered()) {
                exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "export failed: " + e);
              }
              scraped(start);
              return null;
            });
  }

  private void render(
      Exchange exchange,
      List<SandboxResult> results,
      List<SnapshotExport> containerStatsExports,
      MetricNameFilter metricFilter,
      Pattern capabilityFilter,
      long start) {
    Instant now = Instant.now();
    List<SnapshotExport> exports = new ArrayList<>(results.size() + 2);
    for (SandboxResult r : results) {
      if (r.succeeded()) {
        exports.add(new SnapshotExport(r.snapshot(), exporterPrefix, r.sandbox().labels()));
      }
    }
    exports.addAll(containerStatsExports);
    Predicate<String> capabilities = capabilityFilter == null ? null : name -> capabilityFilter.matcher(name).find();
    exports.add(
        new SnapshotExport(
            MetaMetrics.snapshot(results, capabilities, registry.totalRegistered(), now),
            exporterPrefix + MetaMetrics.PREFIX,
            Labels.EMPTY));
    long[] refused = refusedConnections.get();
    exports.add(
        new SnapshotExport(
            MetaMetrics.connectionsSnapshot(refused[0], refused[1], now),
            exporterPrefix + MetaMetrics.PREFIX,
            Labels.EMPTY));
    if (selfMetrics == null) {
      exports.add(new SnapshotExport(MetaMetrics.processSnapshot(processStart, now), "", Labels.EMPTY));
    } else {
      exports.add(new SnapshotExport(selfMetrics.snapshot(now), exporterPrefix + MetaMetrics.PREFIX, Labels.EMPTY));
      exports.add(new SnapshotExport(
          MetaMetrics.processSnapshot(processStart, now, ProcessMetrics.points()), "", Labels.EMPTY));
    }

    ParallelGzip compress = exchange.gzipLevel() > 0 ? gzip : null;
    StreamingBody body = exchange.startStream(writer.contentType(), compress != null);
    try {
      SlicedExposition sliced = writer.slice(header(metricFilter), exports, SLICE_BYTES);
      WriteReport report;
      if (sliced.sliceCount() == 1 && compress == null) {
        // One slice of text: straight into the response, as it is rendered.
        report = sliced.writeSlice(0, body);
      } else {
        // One slice (with gzip) is rendered by this thread alone: no hand-off for a small body.
        report = new ParallelExposition(sliced, work, WINDOW, compress).write(body);
      }
      body.close();
      if (!report.droppedDataPoints().isEmpty()) {
        List<String> dropped = report.droppedDataPoints();
        log.warn(
            "Dropped {} data points that cannot be written, e.g.: {}",
            dropped.size(),
            String.join("; ", dropped.subList(0, Math.min(5, dropped.size()))));
      }
      if (log.isDebugEnabled()) {
        log.debug(
            "Exported {} sandboxes ({} broken): {} bytes in {} ms.",
            results.size(),
            MetaMetrics.counts(results).broken(),
            body.bytesWritten(),
            (System.nanoTime() - start) / 1_000_000);
      }
    } catch (IOException | RuntimeException e) {
      // The status line went out already: all we can do is cut the response short.
      log.info("Could not send /metrics to the client: {}", e.toString());
      body.abort();
    } finally {
      scraped(start);
    }
  }

  private void scraped(long start) {
    if (selfMetrics != null) {
      selfMetrics.scraped(System.nanoTime() - start);
    }
  }

  private String header(MetricNameFilter filter) {
    String header = "Data for runsc metric server exporting data for sandboxes in root directory " + rootDir;
    if (!filter.isAll()) {
      header += " (filtered using regular expression: " + GoStrings.quote(filter.expression()) + ")";
    }
    return header;
  }
}
