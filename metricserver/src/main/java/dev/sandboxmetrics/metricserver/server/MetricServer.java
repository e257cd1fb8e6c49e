package dev.sandboxmetrics.metricserver.server;

import dev.sandboxmetrics.metricserver.collect.Collector;
import dev.sandboxmetrics.metricserver.collect.EventDrivenControlClient;
import dev.sandboxmetrics.metricserver.collect.KeptConnections;
import dev.sandboxmetrics.metricserver.collect.QueryObserver;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector;
import dev.sandboxmetrics.metricserver.http.Connections;
import dev.sandboxmetrics.metricserver.http.HealthcheckEndpoint;
import dev.sandboxmetrics.metricserver.http.HttpServer;
import dev.sandboxmetrics.metricserver.http.IndexEndpoint;
import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.metricserver.http.PidEndpoint;
import dev.sandboxmetrics.metricserver.http.ProfileEndpoints;
import dev.sandboxmetrics.metricserver.http.Routes;
import dev.sandboxmetrics.metricserver.meta.SelfMetrics;
import dev.sandboxmetrics.metricserver.registry.SandboxRegistry;
import dev.sandboxmetrics.metricserver.scrape.MetricsEndpoint;
import dev.sandboxmetrics.metricserver.status.SandboxStatus;
import dev.sandboxmetrics.metricserver.status.StatusEndpoint;
import dev.sandboxmetrics.metricserver.transport.ListenAddress;
import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.metricserver.transport.UnixSocketFile;
import dev.sandboxmetrics.posix.RegularFile;
import dev.sandboxmetrics.runsc.control.ReplyBudget;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metric server (docs/runsc-protocol.md sections 7 and 9): checks the root directory, listens on the
 * {@code --metric-server} address (TCP or Unix socket), serves the HTTP endpoints, rescans the root directory
 * every 20 s, and shuts down gracefully: stop accepting, 503 to requests that still arrive on open
 * connections, remove the socket and PID files, let running exports finish (bounded), release everything.
 *
 * <p>Threads: a small Netty event loop group does all network I/O (HTTP and the sandboxes' control
 * sockets); a bounded worker pool does the blocking and CPU work (scans, decoding, verifying, rendering). The
 * event loop also keeps the timers (the periodic scan, the profiling endpoint's), whose tasks only hand work
 * to the pool: a scheduler thread of its own cost a stack and a share of malloc's arenas for a task that
 * runs every 20 s. Nothing blocks the event loop.
 *
 * <p>Started by the {@code metric-server} and {@code demo} commands, and by tests.
 */
public final class MetricServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricServer.class);
  private static final String RUNTIME_ROOT = "%RUNTIME_ROOT%";
  /** A background scan due within this long is made now rather than after one more short wait. */
  private static final long PERIODIC_SCAN_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /** Why the server stopped. */
  public enum Termination {
    /** Asked to (signal, {@link #shutdown}). */
    REQUESTED,
    /** The root directory went away and {@code --allow-unknown-root} was not given. */
    ROOT_DIRECTORY_GONE
  }

  private final MetricServerOptions options;
  private final String address;
  private final Transport transport;
  private final EventLoopGroup group;
  private final ThreadPoolExecutor work;
  /** The periodic scan's timer, cancelled at shutdown; null until the server runs. */
  private ScheduledFuture<?> periodicScanTimer;
  /** Set while a periodic scan waits for or runs on the worker pool: a slow scan is never queued twice. */
  private final AtomicBoolean scanPending = new AtomicBoolean();
  private final SandboxRegistry registry;
  private final KeptConnections keptConnections;
  private final SandboxStatus status;
  private final Routes routes;
  private final HttpServer http;
  /** The Deflaters of /metrics' own gzip compression (null with --gzip-level 0); ended at shutdown. */
  private final ParallelGzip gzip;
  private final List<UnixSocketFile> socketFiles = new ArrayList<>();
  private final List<String> listening = new ArrayList<>();
  private final CompletableFuture<Termination> terminated = new CompletableFuture<>();
  private InetSocketAddress tcpAddress;
  private Path pidFile;
  private volatile boolean shuttingDown;

  private MetricServer(MetricServerOptions options, String address) {
    this.options = options;
    this.address = address;
    this.transport = Transport.detect();
    int loops = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));
    // Thread names: Linux shows a thread by the first 15 bytes of its name (top -H, ps -L, /proc/PID/task/TID/
    // comm), so these stay short and differ there: sm-io-1-1, sm-worker-2-1.
    this.group = transport.newEventLoopGroup(loops, "sm-io");
    int workers = Math.max(2, Runtime.getRuntime().availableProcessors());
    // The workers stay for the server's life, blocked on the queue while it is idle. With a keep-alive they
    // would wake up to time out, and at the scrape intervals Prometheus uses (15-30 s, against a 30 s
    // keep-alive) die between scrapes and be started again for the next one, with their thread-local
    // caches; idle, a worker costs a few touched stack pages.
    this.work =
        new ThreadPoolExecutor(
            workers,
            workers,
            0,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(100_000),
            new DefaultThreadFactory("sm-worker", true));
    // The status page learns from the registry's scans and the collector's queries; the registry is made
    // after it, so it asks for the served sandboxes through a reference it reads when a page is drawn.
    SandboxRegistry[] registryRef = new SandboxRegistry[1];
    this.status = new SandboxStatus(() -> registryRef[0].current(), address, options.rootDir(), Clock.systemUTC());
    this.registry = new SandboxRegistry(
        new RootDirectory(Path.of(options.rootDir())), options.rootDir(), address, options.allowUnknownRoot(),
        options.sandboxTimeout(), status);
    registryRef[0] = registry;
    HttpServer[] httpRef = new HttpServer[1];
    SelfMetrics selfMetrics = options.selfMetrics() ? new SelfMetrics(() -> httpRef[0].openConnections()) : null;
    QueryObserver queries = selfMetrics == null ? status : (result, nanos) -> {
      status.queried(result, nanos);
      selfMetrics.queried(result, nanos);
    };
    // Control connections are kept between scrapes for the sandboxes served (README: where we differ from runsc);
    // with container stats two per sandbox: its Event calls run beside its export.
    this.keptConnections = new KeptConnections(KeptConnections.defaultMaxIdle(), options.containerStats() ? 2 : 1);
    registry.onServed(keptConnections::retain);
    EventDrivenControlClient client = new EventDrivenControlClient(transport, group, options.maxReplyBytes(),
        new ReplyBudget(options.maxReplyBytesInFlight()), keptConnections);
    Collector collector = new Collector(client, work, options.exportTimeout(), options.sandboxTimeout(),
        options.maxParallelQueries(), options.maxSeriesPerSandbox(), queries);
    this.routes = new Routes(() -> shuttingDown);
    // One Deflater per worker that compresses at once, and one for the scrape's own thread.
    this.gzip = options.gzipLevel() > 0 ? new ParallelGzip(options.gzipLevel(), workers + 1) : null;
    routes
        .get("/", new IndexEndpoint())
        .get(
            "/metrics",
            new MetricsEndpoint(
                registry,
                collector,
                new PrometheusTextWriter(),
                work,
                options.rootDir(),
                options.exporterPrefix(),
                Instant.now(),
                selfMetrics,
                options.containerStats()
                    ? new ContainerStatsCollector(client, work,
                        options.exportTimeout(), options.sandboxTimeout(), new RootDirectory(Path.of(options.rootDir())),
                        options.cgroupRoot(), options.exporterPrefix())
                    : null)
                .withRefusedConnections(this::refusedConnections)
                .withGzip(gzip))
        .get("/sandboxes", new StatusEndpoint(status, registry::refresh, work, options.rootDir(), address, Clock.systemUTC()))
        .add("/runsc-metrics/healthcheck", Set.of(HttpMethod.GET, HttpMethod.POST), new HealthcheckEndpoint(options.rootDir()))
        .get("/runsc-metrics/pid", new PidEndpoint(ProcessHandle.current().pid()));
    if (options.allowProfiling()) {
      log.warn("Profiling HTTP endpoints are exposed; this should only be used for development!");
      routes
          .get("/runsc-metrics/profile-cpu", ProfileEndpoints.cpu(work, group, options.httpTimeout()))
          .get("/runsc-metrics/profile-heap", ProfileEndpoints.heap(work));
    }
    this.http =
        new HttpServer(transport, group, routes, options.httpTimeout(), options.gzipLevel(), options.connections());
    httpRef[0] = http;
  }

  /**
   * Checks the settings and the root directory, binds, writes the PID file and starts serving.
   *
   * @throws StartupException with a message for the user; {@link StartupException#isUsageError()} for bad
   *     flags
   */
  public static MetricServer start(MetricServerOptions options) throws StartupException {
    if (options.address().isEmpty()) {
      throw new StartupException("no metric server address given (--metric-server)", true);
    }
    String address = options.address();
    if (address.contains(RUNTIME_ROOT)) {
      String replaced = address.replace(RUNTIME_ROOT, options.rootDir());
      log.info("Metric server address replaced %RUNTIME_ROOT%: \"{}\" -> \"{}\"", address, replaced);
      address = replaced;
    }
    List<ListenAddress> listenAddresses = new ArrayList<>();
    try {
      listenAddresses.add(ListenAddress.parse(address));
      for (String extra : options.extraListenAddresses()) {
        listenAddresses.add(ListenAddress.parse(extra.replace(RUNTIME_ROOT, options.rootDir())));
      }
    } catch (IllegalArgumentException e) {
      throw new StartupException(e.getMessage(), true);
    }
    if (options.connections().checksPeers()) {
      if (listenAddresses.stream().noneMatch(a -> a instanceof ListenAddress.Unix)) {
        throw new StartupException(
            "--allow-peer-uid/--allow-peer-gid apply to Unix sockets only, and the server listens on none", true);
      }
      if (!Transport.detect().isEpoll()) {
        throw new StartupException(
            "--allow-peer-uid/--allow-peer-gid need the native epoll transport to read callers' credentials "
                + "(SO_PEERCRED), and it cannot be used here (see the log above); remove the allow-list or fix epoll",
            false);
      }
    }
    checkRootDirectory(options);

    MetricServer server = new MetricServer(options, address);
    try {
      for (ListenAddress a : listenAddresses) {
        server.listen(a);
      }
      server.writePidFile();
    } catch (IOException e) {
      server.release();
      throw new StartupException(e.getMessage(), false);
    } catch (RuntimeException e) {
      server.release();
      throw e;
    }
    server.startScanning();
    log.info(
        "Server serving on {} for root directory {} (transport {}).",
        String.join(" and ", server.listening),
        options.rootDir(),
        server.transport.name());
    return server;
  }

  /** Where the server listens: the bound TCP address ({@code host:port}) or socket path of each listener. */
  public List<String> listeningOn() {
    return List.copyOf(listening);
  }

  /** The bound TCP address (with the real port when port 0 was given), or null when only on Unix sockets. */
  public InetSocketAddress tcpAddress() {
    return tcpAddress;
  }

  /** The address sandboxes must name to be served (after {@code %RUNTIME_ROOT%} replacement). */
  public String address() {
    return address;
  }

  /** Control connections kept open to sandboxes between scrapes right now (tests watch it). */
  public int keptControlConnections() {
    return keptConnections.idleConnections();
  }

  /** Client connections open right now (tests and the attack benchmark watch it). */
  public int openConnections() {
    return http.openConnections();
  }

  public boolean isShuttingDown() {
    return shuttingDown;
  }

  /** Starts a graceful shutdown without waiting for it; safe from any thread, idempotent. */
  public void shutdownAsync(Termination why) {
    Thread t = new Thread(() -> shutdown(why), "sandbox-metrics-shutdown");
    t.setDaemon(false);
    t.start();
  }

  /** Shuts down gracefully and waits until done. Idempotent. */
  public void shutdown() {
    shutdown(Termination.REQUESTED);
  }

  @Override
  public void close() {
    shutdown();
  }

  /** Waits until the server has shut down and says why. */
  public Termination awaitTermination() throws InterruptedException {
    try {
      return terminated.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("shutdown failed", e.getCause());
    }
  }

  private void shutdown(Termination why) {
    boolean already;
    synchronized (this) {
      already = shuttingDown;
      shuttingDown = true;
    }
    if (already) {
      // Not holding the lock: the first shutdown takes it again in release() (to cancel the scan's timer).
      awaitQuietly();
      return;
    }
    log.info("Server shutting down.");
    http.stopAccepting();
    for (UnixSocketFile f : socketFiles) {
      f.release();
    }
    removePidFile();
    // Let exports that are running finish (they are bounded by the export timeout), then close the rest.
    long graceEnd = System.nanoTime() + options.exportTimeout().plusSeconds(5).toNanos();
    while (routes.inFlight() > 0 && System.nanoTime() < graceEnd) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    http.closeConnections();
    release();
    log.info("Server has stopped.");
    terminated.complete(why);
  }

  private void awaitQuietly() {
    try {
      terminated.get(options.exportTimeout().plusSeconds(15).toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      // Another thread is shutting down; nothing more to do here.
    }
  }

  /** Frees threads and files; used by shutdown and by a failed start. */
  private void release() {
    keptConnections.close();
    synchronized (this) {
      if (periodicScanTimer != null) {
        periodicScanTimer.cancel(false);
      }
    }
    work.shutdown();
    for (UnixSocketFile f : socketFiles) {
      f.release();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    try {
      work.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (gzip != null) {
      gzip.close();
    }
  }

  /** For {@code meta_refused_connections_total}: {refused by peer credentials, closed for the limit}. */
  private long[] refusedConnections() {
    Connections c = http.connections();
    return new long[] {c.refusedByPeerCredentials(), c.refusedOverLimit() + c.evictedIdle()};
  }

  private static void checkRootDirectory(MetricServerOptions options) throws StartupException {
    Path root = Path.of(options.rootDir());
    // Listing catches both a missing directory and one we may not read.
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      entries.iterator().hasNext();
    } catch (IOException | RuntimeException e) {
      String why = UserMessages.fileReason(e);
      if (!options.allowUnknownRoot()) {
        throw new StartupException(
            "invalid root directory \"" + options.rootDir() + "\": cannot list it: " + why
                + " (give --root the runtime's root directory, before the command; or --allow-unknown-root to "
                + "start anyway)",
            false);
      }
      log.info(
          "Root directory \"{}\" cannot be listed ({}); continuing anyway, as expected with --allow-unknown-root.",
          options.rootDir(),
          why);
    }
  }

  private void listen(ListenAddress a) throws IOException {
    if (a instanceof ListenAddress.Unix unix) {
      UnixSocketFile file = UnixSocketFile.prepare(unix.path());
      http.listenUnix(unix.path());
      socketFiles.add(file);
      file.claim(options.connections().socketMode());
      listening.add(unix.path().toString());
      return;
    }
    ListenAddress.Tcp tcp = (ListenAddress.Tcp) a;
    if (tcp.allInterfaces()) {
      log.warn("Binding on all interfaces. This will allow anyone to list all containers on your machine!");
    }
    InetSocketAddress bound = http.listenTcp(tcp.resolve());
    if (tcpAddress == null) {
      tcpAddress = bound;
    }
    String host = bound.getAddress().getHostAddress();
    listening.add((host.contains(":") ? "[" + host + "]" : host) + ":" + bound.getPort());
  }

  private void writePidFile() throws IOException {
    if (options.pidFile() == null) {
      return;
    }
    long pid = ProcessHandle.current().pid();
    try {
      // Not through a symbolic link, and not blocking on a FIFO someone put there (runsc writes neither).
      RegularFile.write(options.pidFile(), Long.toString(pid).getBytes(StandardCharsets.US_ASCII), 0644);
    } catch (IOException e) {
      throw new IOException("cannot write the --pid-file \"" + options.pidFile() + "\": "
          + UserMessages.createReason(e, options.pidFile()), e);
    }
    pidFile = options.pidFile();
    log.info("Wrote PID {} to file {}.", pid, pidFile);
  }

  private void removePidFile() {
    if (pidFile == null) {
      return;
    }
    try {
      Files.deleteIfExists(pidFile);
    } catch (IOException e) {
      log.warn("Cannot remove PID file {}: {}", pidFile, e.toString());
    }
    pidFile = null;
  }

  private void startScanning() {
    // A first scan right away, so that the log says which sandboxes we serve before anyone scrapes.
    work.execute(registry::refresh);
    // A periodic task that throws is never run again: survivingEverything keeps it alive through anything.
    Runnable scan = survivingEverything("Periodic scan of " + options.rootDir(), this::periodicScan);
    armPeriodicScan(scan, options.rescanInterval().toNanos());
  }

  /**
   * The root directory is scanned at least every {@code --rescan-interval}: by the scrapes, each of which
   * rescans, and in the background when none has for that long. So the timer is set for one interval after
   * the last scan that listed the root, whoever made it: while Prometheus scrapes more often than the
   * interval, no background scan runs (each cost an idle server ~2-3 ms of CPU). A scan that cannot list
   * the root does not count, so a root directory that has gone is found by a background scan within one
   * interval of the last good listing, scrapes or not.
   * The timer is the event loop's; the scan (file I/O) runs on the worker pool.
   */
  private void armPeriodicScan(Runnable scan, long delayNanos) {
    synchronized (this) {
      if (shuttingDown || group.isShuttingDown()) {
        return;
      }
      try {
        periodicScanTimer = group.schedule(() -> periodicTimer(scan), delayNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // The event loops are stopping: so is the server.
      }
    }
  }

  private void periodicTimer(Runnable scan) {
    long wait = options.rescanInterval().toNanos();
    try {
      long due = periodicScanDelay(registry.nanosSinceListed(), wait);
      if (due == 0) {
        submitPeriodicScan(scan);
      } else {
        wait = due;
      }
    } finally {
      armPeriodicScan(scan, wait); // whatever happened, the timer goes on
    }
  }

  /**
   * How long the background scan waits, {@code sinceListed} after the root was last listed: 0 when it is due
   * (an interval has passed, give or take the timer's own lateness of a few milliseconds), else until it is.
   */
  static long periodicScanDelay(long sinceListed, long every) {
    long left = every - sinceListed;
    return left <= PERIODIC_SCAN_SLACK_NANOS ? 0 : left;
  }

  /** On the event loop: hands the scan to the worker pool unless the previous one has not finished. */
  private void submitPeriodicScan(Runnable scan) {
    if (shuttingDown || !scanPending.compareAndSet(false, true)) {
      return;
    }
    try {
      work.execute(() -> {
        try {
          scan.run();
        } finally {
          scanPending.set(false);
        }
      });
    } catch (RejectedExecutionException e) {
      scanPending.set(false); // shutting down, or the pool's queue is full: the next interval tries again
    }
  }

  /**
   * Wraps a task for a {@code ScheduledExecutorService}, which silently stops running a task for good once
   * it throws: anything it throws, even an {@link Error} such as {@link OutOfMemoryError}, is logged instead.
   */
  static Runnable survivingEverything(String what, Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (Throwable e) {
        try {
          log.error("{} failed; it runs again at the next interval: {}", what, e.toString(), e);
        } catch (Throwable ignored) {
          // Logging itself failed (out of memory): the task must still survive.
        }
      }
    };
  }

  private void periodicScan() {
    if (shuttingDown) {
      return;
    }
    try {
      registry.scan();
    } catch (SandboxRegistry.RootDirectoryException e) {
      if (options.allowUnknownRoot()) {
        log.debug("{} (ignored: --allow-unknown-root)", e.getMessage());
        return;
      }
      if (!e.gone()) {
        // Out of file descriptors, a permission changed: passing, and no reason to stop serving.
        registry.listingFailed(e);
        return;
      }
      log.warn("{}: it has gone away. Server shutting down.", e.getMessage());
      shutdownAsync(Termination.ROOT_DIRECTORY_GONE);
    }
  }
}
