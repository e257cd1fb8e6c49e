package dev.sandboxmetrics.cli;

import dev.sandboxmetrics.metricserver.server.UserMessages;
import dev.sandboxmetrics.runsc.control.BlockingControlClient;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.discovery.ContainerLookup;
import dev.sandboxmetrics.runsc.discovery.DiscoveryException;
import dev.sandboxmetrics.runsc.discovery.LoadResult;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.runsc.discovery.SandboxInfo;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import dev.sandboxmetrics.snapshot.golang.GoStrings;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.text.PrometheusTextWriter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import dev.sandboxmetrics.snapshot.text.WriteReport;
import dev.sandboxmetrics.snapshot.verify.InvalidRegistrationException;
import dev.sandboxmetrics.snapshot.verify.VerificationException;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLogger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code sandbox-metrics export-metrics [--exporter-prefix=P] [--sandbox-metrics-filter=RE] CONTAINER_ID}:
 * prints one sandbox's metrics once, in the Prometheus text format, as {@code runsc export-metrics} does
 * (docs/runsc-protocol.md sections 1 and 8). Finds the container by ID or unique ID prefix in the root directory,
 * asks its sandbox for a snapshot over the control socket, checks that the sandbox respected the filter,
 * and writes the snapshot with the sandbox's labels to stdout.
 *
 * <p>Like runsc, it does not verify the snapshot against the registration unless asked ({@code --verify});
 * a data point that cannot be rendered is left out and reported on stderr. Unlike runsc, it never
 * waits forever: one deadline ({@code --timeout}) covers waiting for a locked state file and the call.
 */
@Command(
    name = "export-metrics",
    description = {
      "Print the metrics of the sandbox running CONTAINER_ID once, in Prometheus text format, as "
          + "'runsc export-metrics' does.",
    },
    exitCodeList = {"0:metrics written", "1:runtime failure (message on stderr)", "2:usage error"})
final class ExportMetricsCommand implements Callable<Integer> {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  // The option names and defaults as picocli reads them; ExportMetricsFastPath uses the same constants.
  static final String EXPORTER_PREFIX = "--exporter-prefix";
  static final String SANDBOX_METRICS_FILTER = "--sandbox-metrics-filter";
  static final String TIMEOUT = "--timeout";
  static final String MAX_REPLY_BYTES = "--max-reply-bytes";
  static final String VERIFY = "--verify";
  static final String DEFAULT_EXPORTER_PREFIX = "runsc_";
  static final String DEFAULT_FILTER = "";
  static final String DEFAULT_TIMEOUT_FLAG = "10s";
  static final String DEFAULT_MAX_REPLY_BYTES = "" + BlockingControlClient.DEFAULT_MAX_REPLY_BYTES;
  private static final long LOCK_RETRY_MILLIS = 25;

  @ParentCommand Main global;

  @Option(names = EXPORTER_PREFIX, paramLabel = "PREFIX", defaultValue = DEFAULT_EXPORTER_PREFIX,
      description = "Prefix for all metric names, following Prometheus exporter convention (default: ${DEFAULT-VALUE}).")
  String exporterPrefix;

  @Option(names = SANDBOX_METRICS_FILTER, paramLabel = "REGEX", defaultValue = DEFAULT_FILTER,
      description = "Only export metrics whose name (before the prefix) this RE2 regular expression matches "
          + "anywhere. The sandbox applies it; the reply is checked.")
  String sandboxMetricsFilter;

  @Option(names = TIMEOUT, paramLabel = "DURATION", defaultValue = DEFAULT_TIMEOUT_FLAG,
      description = "Give up after this long (Go duration syntax: 10s, 1m30s, 500ms), covering a locked state "
          + "file and the call to the sandbox (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = MAX_REPLY_BYTES, paramLabel = "BYTES", defaultValue = DEFAULT_MAX_REPLY_BYTES,
      description = "Largest reply accepted from the sandbox (default: ${DEFAULT-VALUE}, 8 MiB).")
  int maxReplyBytes;

  @Option(names = VERIFY, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Also check the snapshot against the metrics the sandbox registered in its state file, as "
          + "the metric server does (runsc's export-metrics does not; off by default).")
  boolean verify;

  @Parameters(index = "0", arity = "1", paramLabel = "CONTAINER_ID",
      description = "A container ID, or a prefix of exactly one container's ID.")
  String containerId;

  @Override
  public Integer call() throws IOException {
    long deadline = BlockingControlClient.deadlineAfter(checkTimeout());
    MetricNameFilter filter = compileFilter();
    if (maxReplyBytes <= 0) {
      throw CommandFailure.usage("--max-reply-bytes must be positive, got " + maxReplyBytes, null);
    }
    // What this command logs is debug and info, which a one-shot command shows only with --debug. Without
    // it, leaving SLF4J unstarted saves tens of milliseconds of start-up (its date format loads locale data).
    Logger log = global.debug() ? LoggerFactory.getLogger(ExportMetricsCommand.class) : NOPLogger.NOP_LOGGER;

    RootDirectory root = new RootDirectory(Path.of(global.root()));
    StateFileName container = find(root);
    // The lock is the first use of JNA, which the second core has been starting meanwhile (ExportWarmUp).
    ExportWarmUp.beforeNativeUse();
    SandboxInfo sandbox = load(root, container.sandboxId(), deadline);
    log.debug("Container {} is in {}; control socket {}", container.containerId(), sandbox,
        sandbox.controlSocketPath());
    requireRunning(sandbox);

    Snapshot snapshot;
    try {
      snapshot = BlockingControlClient.export(sandbox.controlSocketPath(), filter, deadline, maxReplyBytes);
    } catch (ControlException e) {
      throw new CommandFailure("cannot export the metrics of sandbox " + sandbox.sandboxId() + ": "
          + e.getMessage() + timeoutHint(e), e);
    }

    if (verify) {
      verify(sandbox, snapshot);
    }

    String header = "Command-line export for sandbox " + sandbox.sandboxId();
    if (!filter.isAll()) {
      header += " (filtered using regular expression: " + GoStrings.quote(filter.expression()) + ")";
    }
    WriteReport report;
    OutputStream stdout = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 64 << 10);
    try {
      report = new PrometheusTextWriter().write(stdout, header,
          List.of(new SnapshotExport(snapshot, exporterPrefix, sandbox.labels())));
      stdout.flush();
    } catch (IOException e) {
      throw new CommandFailure("cannot write the metrics to stdout: " + e.getMessage(), e);
    }
    for (String dropped : report.droppedDataPoints()) {
      global.err().println(Main.NAME + ": warning: left out a data point of sandbox " + sandbox.sandboxId()
          + ": " + Main.oneLine(dropped));
    }
    log.info("Wrote {} bytes of Prometheus metric data to stdout", report.bytesWritten());
    return Main.EXIT_OK;
  }

  private Duration checkTimeout() {
    if (timeout.isNegative() || timeout.isZero()) {
      throw CommandFailure.usage("--timeout must be positive, got " + timeout, null);
    }
    return timeout;
  }

  private MetricNameFilter compileFilter() {
    try {
      return MetricNameFilter.compile(sandboxMetricsFilter);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--sandbox-metrics-filter: " + e.getMessage(), e);
    }
  }

  private StateFileName find(RootDirectory root) {
    try {
      ContainerLookup lookup = root.findContainer(containerId);
      return lookup.orElseThrow();
    } catch (NoSuchFileException e) {
      throw new CommandFailure("root directory " + root.path() + " does not exist (set it with --root)", e);
    } catch (DiscoveryException e) {
      throw new CommandFailure(e.getMessage(), e);
    } catch (IOException e) {
      throw new CommandFailure("cannot list root directory " + root.path() + ": " + UserMessages.fileReason(e)
          + " (set --root, before the command, to the runtime's root directory)", e);
    }
  }

  /**
   * Loads the sandbox, waiting (within the deadline) while runsc holds a state file's lock: runsc's own
   * export-metrics blocks on the lock; a locked file only means a runsc command is changing it right now.
   */
  private SandboxInfo load(RootDirectory root, String sandboxId, long deadline) {
    while (true) {
      LoadResult<SandboxInfo> result;
      try {
        result = root.loadSandbox(sandboxId);
      } catch (DiscoveryException e) {
        throw new CommandFailure(e.getMessage(), e);
      }
      if (result instanceof LoadResult.Loaded<SandboxInfo> loaded) {
        return loaded.value();
      }
      if (result instanceof LoadResult.Missing) {
        throw new CommandFailure("sandbox " + sandboxId + " disappeared from " + root.path()
            + " while it was being read (it was deleted)");
      }
      LoadResult.Busy<SandboxInfo> busy = (LoadResult.Busy<SandboxInfo>) result;
      if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LOCK_RETRY_MILLIS) - deadline > 0) {
        throw new CommandFailure("the state file of sandbox " + sandboxId + " stayed locked by another process for "
            + formatDuration(timeout) + " (" + busy.lockFile() + "); a runsc command is changing it, try again");
      }
      try {
        Thread.sleep(LOCK_RETRY_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CommandFailure("interrupted while waiting for the lock " + busy.lockFile(), e);
      }
    }
  }

  /** The metric server's checks, for one snapshot (so without the ones that compare with an earlier one). */
  private static void verify(SandboxInfo sandbox, Snapshot snapshot) {
    Registration registration = sandbox.registration();
    if (registration == null) {
      throw new CommandFailure("cannot verify the metrics of sandbox " + sandbox.sandboxId()
          + ": its state file has no registered metrics (it was not created with --metric-server)");
    }
    try {
      Verifier.forRegistration(registration).verify(snapshot, Instant.now());
    } catch (InvalidRegistrationException e) {
      throw new CommandFailure("cannot verify the metrics of sandbox " + sandbox.sandboxId()
          + ": the registration in its state file is invalid: " + e.getMessage(), e);
    } catch (VerificationException e) {
      throw new CommandFailure("sandbox " + sandbox.sandboxId() + " sent metrics that fail verification: "
          + e.getMessage(), e);
    }
  }

  private static void requireRunning(SandboxInfo sandbox) {
    if (sandbox.isRunning()) {
      return;
    }
    String id = sandbox.sandboxId();
    if (sandbox.pid() <= 0) {
      throw new CommandFailure("sandbox " + id + " is not running (its state file says \"" + sandbox.status()
          + "\" and has no process ID)");
    }
    throw new CommandFailure("sandbox " + id + " is not running: its process " + sandbox.pid()
        + " is gone (state file says \"" + sandbox.status() + "\"; left behind by a killed sandbox?)");
  }

  private String timeoutHint(ControlException e) {
    return e.kind() == ControlException.Kind.TIMED_OUT ? " (--timeout=" + formatDuration(timeout) + ")" : "";
  }

  /** Go's spelling of common durations, so the hint can be pasted back as a flag. */
  static String formatDuration(Duration d) {
    if (d.toNanos() % 1_000_000_000L == 0) {
      return d.getSeconds() + "s";
    }
    if (d.toNanos() % 1_000_000L == 0) {
      return d.toMillis() + "ms";
    }
    return d.toNanos() + "ns";
  }
}
