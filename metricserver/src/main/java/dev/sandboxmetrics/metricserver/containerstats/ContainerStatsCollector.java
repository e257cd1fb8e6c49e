package dev.sandboxmetrics.metricserver.containerstats;

import dev.sandboxmetrics.metricserver.collect.EventDrivenControlClient;
import dev.sandboxmetrics.metricserver.collect.KeptConnections;
import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code metric-server --container-stats}: per scrape, asks every running container of every served sandbox
 * for {@code containerManager.Event} over the sandbox's control socket (the containers one after the other
 * on a connection kept for the sandbox, as its {@code Metrics.Export}'s, see {@link KeptConnections}; all
 * sandboxes at once, inside the same export deadline as {@code Metrics.Export}), reads each
 * sandbox's host cgroup, applies runsc's CPU formula and the checks for untrusted numbers, and hands the
 * results to {@link ContainerStatsSeries} for rendering. A sandbox whose Event fails loses only its
 * container stats. Called by the metrics endpoint; also by {@code sandbox-metrics stats} through
 * {@link #collectStats}.
 *
 * <p>Scrapes that overlap share one collection: the monotonic check must see each sandbox's replies in the
 * order they were taken.
 */
public final class ContainerStatsCollector {
  private static final Logger log = LoggerFactory.getLogger(ContainerStatsCollector.class);
  /** The size of a typical Event reply (a few hundred bytes per network interface): its first buffer. */
  private static final int EXPECTED_REPLY_BYTES = 2048;

  private final EventDrivenControlClient client;
  private final Executor work;
  private final Duration exportTimeout;
  private final Duration sandboxTimeout;
  private final StateFacts stateFacts;
  private final Path cgroupRoot;
  private final Path procRoot;
  private final ContainerStatsSeries series;
  /** Last accepted CPU per sandbox incarnation and container: the monotonic check ({@link CpuFormula#advance}). */
  private final Map<String, CpuFormula.Last> lastCpu = new HashMap<>();
  /** Last accepted network counters per sandbox incarnation and interface. */
  private final Map<String, long[]> lastNetwork = new HashMap<>();
  private CompletableFuture<List<SandboxStats>> running;

  /**
   * @param cgroupRoot replaces the cgroup mountpoint the state files record, or null to use it as recorded
   */
  public ContainerStatsCollector(EventDrivenControlClient client, Executor work, Duration exportTimeout,
      Duration sandboxTimeout, RootDirectory root, Path cgroupRoot, String exporterPrefix) {
    this(client, work, exportTimeout, sandboxTimeout, root, cgroupRoot, Path.of("/proc"), exporterPrefix);
  }

  ContainerStatsCollector(EventDrivenControlClient client, Executor work, Duration exportTimeout,
      Duration sandboxTimeout, RootDirectory root, Path cgroupRoot, Path procRoot, String exporterPrefix) {
    this.client = client;
    this.work = work;
    this.exportTimeout = exportTimeout;
    this.sandboxTimeout = sandboxTimeout;
    this.stateFacts = new StateFacts(root);
    this.cgroupRoot = cgroupRoot;
    this.procRoot = procRoot;
    this.series = new ContainerStatsSeries(exporterPrefix);
  }

  /**
   * The container stats of these sandboxes as exports to render after the sandboxes' own metrics; never
   * completes exceptionally (a failure costs the container stats, logged, not the scrape).
   */
  public CompletableFuture<List<SnapshotExport>> collect(List<ServedSandbox> sandboxes, MetricNameFilter filter) {
    if (!series.anyMatches(filter)) {
      return CompletableFuture.completedFuture(List.of());
    }
    return collectStats(sandboxes)
        .thenApply(stats -> series.exports(stats, filter))
        .exceptionally(e -> {
          log.warn("Container stats failed", e);
          return List.of();
        });
  }

  /** The checked per-sandbox results (for the stats command and tests). */
  public synchronized CompletableFuture<List<SandboxStats>> collectStats(List<ServedSandbox> sandboxes) {
    if (running != null && !running.isDone()) {
      return running;
    }
    CompletableFuture<List<SandboxStats>> f;
    try {
      f = start(sandboxes);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    running = f;
    return f;
  }

  private CompletableFuture<List<SandboxStats>> start(List<ServedSandbox> sandboxes) {
    long deadline = System.nanoTime() + exportTimeout.toNanos();
    Map<String, List<ContainerFacts>> facts = stateFacts.scan();
    List<CompletableFuture<Asked>> asks = new ArrayList<>();
    for (ServedSandbox sb : sandboxes) {
      List<ContainerFacts> containers = facts.getOrDefault(sb.id(), List.of());
      List<ContainerFacts> runningContainers = containers.stream().filter(ContainerFacts::isRunning).toList();
      if (runningContainers.isEmpty()) {
        continue;
      }
      ContainerFacts rootContainer = containers.stream().filter(c -> c.id().equals(sb.id())).findFirst()
          .orElse(containers.get(0));
      Asked asked = new Asked(sb, rootContainer, runningContainers);
      long sandboxDeadline = Math.min(deadline, System.nanoTime() + sandboxTimeout.toNanos());
      asks.add(ask(asked, sandboxDeadline));
    }
    return CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0]))
        .thenApplyAsync(v -> {
          List<SandboxStats> out = new ArrayList<>();
          for (CompletableFuture<Asked> a : asks) {
            out.add(evaluate(a.join()));
          }
          prune(out);
          return out;
        }, work);
  }

  /** The replies of one sandbox's containers, asked one after the other on one connection. */
  private static final class Asked {
    final ServedSandbox sandbox;
    final ContainerFacts rootContainer;
    final List<ContainerFacts> containers;
    final Map<String, EventReply> replies = new LinkedHashMap<>();
    final Map<String, String[]> failures = new LinkedHashMap<>();

    Asked(ServedSandbox sandbox, ContainerFacts rootContainer, List<ContainerFacts> containers) {
      this.sandbox = sandbox;
      this.rootContainer = rootContainer;
      this.containers = containers;
    }
  }

  private CompletableFuture<Asked> ask(Asked asked, long deadline) {
    List<String> ids = asked.containers.stream().map(ContainerFacts::id).toList();
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      for (String id : ids) {
        asked.failures.put(id, new String[] {"timeout", "the export deadline passed before this sandbox's turn"});
      }
      return CompletableFuture.completedFuture(asked);
    }
    List<byte[]> calls = ids.stream().map(ControlProtocol::eventCall).toList();
    CompletableFuture<EventDrivenControlClient.Replies> replies;
    try {
      // On the sandbox's kept connection, as its export (which may run at the same time on another one).
      replies = client.callEach(asked.sandbox.controlSocket(), KeptConnections.Key.of(asked.sandbox), calls,
          Duration.ofNanos(left), EXPECTED_REPLY_BYTES);
    } catch (RuntimeException e) {
      replies = CompletableFuture.completedFuture(new EventDrivenControlClient.Replies(List.of(),
          new ControlException(ControlException.Kind.IO_ERROR, asked.sandbox.controlSocket(),
              "cannot start the call: " + e)));
    }
    return replies.thenApply(r -> {
      List<EventDrivenControlClient.Reply> answered = r.replies();
      boolean usable = false;
      try {
        for (int i = 0; i < answered.size(); i++) {
          EventDrivenControlClient.Reply reply = answered.get(i);
          try {
            asked.replies.put(ids.get(i), EventReply.decode(reply.bytes(), reply.length()));
          } catch (EventReply.EventException x) {
            asked.failures.put(ids.get(i), new String[] {x.reason, x.getMessage()});
          }
        }
        usable = asked.failures.isEmpty();
      } finally {
        for (EventDrivenControlClient.Reply reply : answered) {
          if (!usable) {
            // A reply we could not use (as with the export's): the last reply's release would offer the
            // connection for the next scrape; it is closed instead.
            reply.discardConnection();
          }
          reply.release(); // decoded: its bytes go back to the reply budget
        }
      }
      if (r.failure() != null) {
        // The container being asked gets the reason; the ones after it were never asked.
        ControlException f = r.failure();
        String reason = f.kind() == ControlException.Kind.MALFORMED_REPLY ? "malformed" : "event_failed";
        asked.failures.put(ids.get(answered.size()), new String[] {reason, f.problem()});
        for (int i = answered.size() + 1; i < ids.size(); i++) {
          asked.failures.put(ids.get(i), new String[] {"timeout", "not asked: " + f.problem()});
        }
      }
      return asked;
    });
  }

  /** Applies runsc's formula and our checks to one sandbox's replies. Runs on a worker, one run at a time. */
  private synchronized SandboxStats evaluate(Asked asked) {
    ServedSandbox sb = asked.sandbox;
    HostCgroup cgroup = HostCgroup.locate(asked.rootContainer.cgroup(), asked.rootContainer.sandboxPid(),
        cgroupRoot, procRoot);
    HostCgroup.Reading reading = cgroup == null ? null : cgroup.read();
    Long hostCpu = reading == null ? null : reading.cpuNanos();
    Long hostMemory = reading == null ? null : reading.memoryBytes();
    List<ContainerStats> rows = new ArrayList<>();
    List<String[]> broken = new ArrayList<>();
    long memorySum = 0;
    boolean allAnswered = true;
    List<EventReply.NetworkInterface> network = null;
    for (ContainerFacts c : asked.containers) {
      String[] failure = asked.failures.get(c.id());
      EventReply r = asked.replies.get(c.id());
      if (failure == null && r != null && !c.id().equals(r.id())) {
        failure = new String[] {"wrong_container", "asked for container " + c.id() + ", the reply is for " + r.id()};
      }
      CpuFormula.Result cpu = null;
      if (failure == null && r != null) {
        try {
          cpu = CpuFormula.total(r.containerUsage(), c.id(), hostCpu);
        } catch (ArithmeticException e) {
          failure = new String[] {"usage_overflow", e.getMessage()};
        }
      }
      long memory = 0;
      if (failure == null && r != null) {
        memory = r.memoryUsage();
        if (hostMemory != null && Long.compareUnsigned(memory, hostMemory) > 0) {
          memory = hostMemory; // No container uses more than its whole sandbox.
        } else if (hostMemory == null && memory < 0) {
          failure = new String[] {"absurd_memory", "memory usage of 2^63 bytes or more"};
        }
      }
      long cpuNanos = 0;
      if (failure == null && r != null) {
        String key = sb.id() + "/" + sb.iteration() + "/" + c.id();
        CpuFormula.Last last = lastCpu.get(key);
        long sandboxNanos = r.containerUsage().getOrDefault(c.id(), 0L);
        CpuFormula.Last next = CpuFormula.advance(last, sandboxNanos, cpu.totalNanos());
        if (next == null) {
          failure = new String[] {"cpu_decreased", "the sandbox's CPU time for it went down from "
              + Long.toUnsignedString(last.sandboxNanos()) + " to " + Long.toUnsignedString(sandboxNanos) + " ns"};
        } else {
          if (next.totalNanos() != cpu.totalNanos()) {
            log.debug("CPU of {} in sandbox {} kept at {} ns: runsc's formula gives {} ns (the host/sandbox ratio fell)",
                c.id(), sb, Long.toUnsignedString(next.totalNanos()), Long.toUnsignedString(cpu.totalNanos()));
          }
          lastCpu.put(key, next);
          cpuNanos = next.totalNanos();
        }
      }
      if (failure != null || r == null) {
        allAnswered = false;
        if (failure != null) {
          broken.add(new String[] {c.id(), failure[0], failure[1]});
          log.debug("Container stats of {} in sandbox {} dropped ({}): {}", c.id(), sb, failure[0], failure[1]);
        }
        continue;
      }
      memorySum += memory;
      if (network == null) {
        network = r.interfaces();
      }
      if (!c.pause()) {
        rows.add(new ContainerStats(c, cpuNanos, cpu.source(), memory, r.pidsCurrent()));
      }
    }
    if (network != null && !networkMonotonic(sb, network)) {
      broken.add(new String[] {"", "network_decreased", "a network counter went down"});
      network = null;
    }
    Long overhead = hostMemory != null && allAnswered ? Math.max(0, hostMemory - memorySum) : null;
    return new SandboxStats(sb, rows, broken, hostCpu != null && hostCpu != 0,
        network == null ? List.of() : network, overhead,
        reading == null ? Map.of() : reading.pressureMicros(), hostMemory);
  }

  private boolean networkMonotonic(ServedSandbox sb, List<EventReply.NetworkInterface> interfaces) {
    Map<String, long[]> now = new HashMap<>();
    for (EventReply.NetworkInterface i : interfaces) {
      long[] v = {i.rxBytes(), i.rxPackets(), i.rxErrors(), i.rxDropped(), i.txBytes(), i.txPackets(),
          i.txErrors(), i.txDropped()};
      String key = sb.id() + "/" + sb.iteration() + "/" + i.name();
      long[] last = lastNetwork.get(key);
      if (last != null) {
        for (int k = 0; k < v.length; k++) {
          if (Long.compareUnsigned(v[k], last[k]) < 0) {
            return false;
          }
        }
      }
      now.put(key, v);
    }
    lastNetwork.putAll(now);
    return true;
  }

  /** Forgets the monotonic state of sandbox incarnations no longer served. */
  private synchronized void prune(List<SandboxStats> current) {
    Set<String> live = new HashSet<>();
    for (SandboxStats s : current) {
      live.add(s.sandbox().id() + "/" + s.sandbox().iteration() + "/");
    }
    lastCpu.keySet().removeIf(k -> !live.contains(k.substring(0, k.lastIndexOf('/') + 1)));
    lastNetwork.keySet().removeIf(k -> !live.contains(k.substring(0, k.lastIndexOf('/') + 1)));
  }

  /** The checked stats of one application container. */
  public record ContainerStats(ContainerFacts facts, long cpuNanos, CpuFormula.Source cpuSource, long memoryBytes,
      long tasks) {}

  /**
   * The checked stats of one sandbox.
   *
   * @param broken container ID ("" for the sandbox), reason, message
   * @param cpuFromHostCgroup whether CPU was scaled to the host cgroup (else the sandbox's own numbers)
   * @param memoryOverhead host memory minus its containers', or null when unknown
   * @param pressureMicros PSI totals by "cpu_some", "memory_full"...
   * @param hostMemory the host cgroup's memory, or null
   */
  public record SandboxStats(ServedSandbox sandbox, List<ContainerStats> containers, List<String[]> broken,
      boolean cpuFromHostCgroup, List<EventReply.NetworkInterface> network, Long memoryOverhead,
      Map<String, Long> pressureMicros, Long hostMemory) {}
}
