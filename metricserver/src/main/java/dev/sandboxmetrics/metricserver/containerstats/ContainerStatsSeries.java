package dev.sandboxmetrics.metricserver.containerstats;

import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector.ContainerStats;
import dev.sandboxmetrics.metricserver.containerstats.ContainerStatsCollector.SandboxStats;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.text.SnapshotExport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders container stats as series: cAdvisor's names, help texts, types and the kubelet's label set
 * ({@code container}, {@code id}, {@code image}, {@code name}, {@code namespace}, {@code pod}; cAdvisor's
 * {@code cpu="total"}) for each application container, so that queries written for the kubelet's
 * {@code /metrics/cadvisor} work for gVisor pods; and ours under the exporter prefix, labelled like the
 * sandbox's runsc metrics (network per interface, memory overhead, pressure, how CPU was measured, what was
 * dropped). The README's container-stats table lists every series with its source and formula.
 */
final class ContainerStatsSeries {
  static final Metric CPU = new Metric("container_cpu_usage_seconds_total", MetricType.COUNTER,
      "Cumulative cpu time consumed in seconds.");
  static final Metric MEMORY = new Metric("container_memory_usage_bytes", MetricType.GAUGE,
      "Current memory usage in bytes, including all memory regardless of when it was accessed");
  static final Metric WORKING_SET = new Metric("container_memory_working_set_bytes", MetricType.GAUGE,
      "Current working set in bytes.");
  static final Metric THREADS = new Metric("container_threads", MetricType.GAUGE,
      "Number of threads running inside the container");
  static final Metric MEMORY_LIMIT = new Metric("container_spec_memory_limit_bytes", MetricType.GAUGE,
      "Memory limit for the container.");
  static final Metric CPU_QUOTA = new Metric("container_spec_cpu_quota", MetricType.GAUGE,
      "CPU quota of the container.");
  static final Metric CPU_PERIOD = new Metric("container_spec_cpu_period", MetricType.GAUGE,
      "CPU period of the container.");
  static final Metric CPU_SHARES = new Metric("container_spec_cpu_shares", MetricType.GAUGE,
      "CPU share of the container.");
  static final Metric START_TIME = new Metric("container_start_time_seconds", MetricType.GAUGE,
      "Start time of the container since unix epoch in seconds.");
  static final List<Metric> CADVISOR =
      List.of(CPU, MEMORY, WORKING_SET, THREADS, MEMORY_LIMIT, CPU_QUOTA, CPU_PERIOD, CPU_SHARES, START_TIME);

  /** cAdvisor's specMemoryValue: limits above 2^62 are "unlimited", written as 0. */
  private static final long MAX_MEMORY = 1L << 62;
  /** The kernel's CFS period when the spec sets none (microseconds). */
  private static final long DEFAULT_CPU_PERIOD = 100_000;
  /** The kernel's default cpu.shares (cgroup v1), what a spec without shares gets. */
  private static final long DEFAULT_CPU_SHARES = 1024;

  private static final String[] NETWORK = {
    "receive_bytes", "receive_packets", "receive_errors", "receive_packets_dropped",
    "transmit_bytes", "transmit_packets", "transmit_errors", "transmit_packets_dropped"};

  private final String prefix;
  private final List<Metric> ours = new ArrayList<>();
  private final Metric[] network = new Metric[NETWORK.length];
  private final Metric overhead;
  private final Metric cpuFromHost;
  private final Metric brokenMetric;
  private final Map<String, Metric> pressure = new java.util.LinkedHashMap<>();

  ContainerStatsSeries(String prefix) {
    this.prefix = prefix;
    for (int i = 0; i < NETWORK.length; i++) {
      String what = NETWORK[i].replace('_', ' ');
      network[i] = add(new Metric("sandbox_network_" + NETWORK[i] + "_total", MetricType.COUNTER,
          "Network " + what + " of one interface of the sandbox's network stack (containerManager.Event)."));
    }
    overhead = add(new Metric("sandbox_memory_overhead_bytes", MetricType.GAUGE,
        "Host cgroup memory of the sandbox minus its containers' memory usage: what gVisor itself uses."));
    for (String resource : new String[] {"cpu", "memory", "io"}) {
      pressure.put(resource + "_some", add(new Metric("sandbox_pressure_" + resource + "_waiting_seconds_total",
          MetricType.COUNTER, "Time some tasks of the sandbox's host cgroup waited for " + resource
              + " (PSI some total).")));
      pressure.put(resource + "_full", add(new Metric("sandbox_pressure_" + resource + "_stalled_seconds_total",
          MetricType.COUNTER, "Time all tasks of the sandbox's host cgroup stalled on " + resource
              + " (PSI full total).")));
    }
    cpuFromHost = add(new Metric("container_stats_cpu_from_host_cgroup", MetricType.GAUGE,
        "1 when container CPU is scaled to the sandbox's host cgroup usage, 0 when it is the sandbox's own "
            + "accounting (host cgroup unreadable)."));
    brokenMetric = add(new Metric("container_stats_dropped", MetricType.GAUGE,
        "1 for each container (container=\"\": the sandbox) whose stats this scrape dropped, by reason."));
  }

  private Metric add(Metric m) {
    ours.add(m);
    return m;
  }

  /** Whether the filter keeps any of these series (else no Event calls are made). */
  boolean anyMatches(MetricNameFilter filter) {
    if (filter.isAll()) {
      return true;
    }
    for (Metric m : CADVISOR) {
      if (filter.matches(m.name())) {
        return true;
      }
    }
    for (Metric m : ours) {
      if (filter.matches(m.name())) {
        return true;
      }
    }
    return false;
  }

  List<SnapshotExport> exports(List<SandboxStats> stats, MetricNameFilter filter) {
    Instant now = Instant.now();
    List<DataPoint> cadvisor = new ArrayList<>();
    List<SnapshotExport> out = new ArrayList<>();
    for (SandboxStats s : stats) {
      for (ContainerStats c : s.containers()) {
        addContainer(cadvisor, c, filter);
      }
      List<DataPoint> mine = new ArrayList<>();
      for (EventReply.NetworkInterface i : s.network()) {
        long[] v = {i.rxBytes(), i.rxPackets(), i.rxErrors(), i.rxDropped(), i.txBytes(), i.txPackets(),
            i.txErrors(), i.txDropped()};
        for (int k = 0; k < v.length; k++) {
          point(mine, filter, network[k], Labels.of("interface", i.name()), count(v[k]));
        }
      }
      if (s.memoryOverhead() != null) {
        point(mine, filter, overhead, Labels.EMPTY, Value.ofInt(s.memoryOverhead()));
      }
      for (Map.Entry<String, Long> e : s.pressureMicros().entrySet()) {
        Metric m = pressure.get(e.getKey());
        if (m != null) {
          point(mine, filter, m, Labels.EMPTY, Value.ofFloat(e.getValue() / 1e6));
        }
      }
      point(mine, filter, cpuFromHost, Labels.EMPTY, Value.ofInt(s.cpuFromHostCgroup() ? 1 : 0));
      for (String[] b : s.broken()) {
        point(mine, filter, brokenMetric, Labels.of("container", b[0], "reason", b[1]), Value.ofInt(1));
      }
      if (!mine.isEmpty()) {
        out.add(new SnapshotExport(new Snapshot(now, mine), prefix, s.sandbox().labels()));
      }
    }
    if (!cadvisor.isEmpty()) {
      out.add(0, new SnapshotExport(new Snapshot(now, cadvisor), "", Labels.EMPTY));
    }
    return out;
  }

  private void addContainer(List<DataPoint> out, ContainerStats c, MetricNameFilter filter) {
    ContainerFacts f = c.facts();
    Labels labels = labels(f);
    // cAdvisor writes the total only when it is above zero (and there is no per-CPU breakdown).
    if (c.cpuNanos() != 0) {
      Labels cpuLabels = Labels.of("container", labels.get("container"), "cpu", "total", "id", labels.get("id"),
          "image", labels.get("image"), "name", labels.get("name"), "namespace", labels.get("namespace"),
          "pod", labels.get("pod"));
      point(out, filter, CPU, cpuLabels, Value.ofFloat(unsigned(c.cpuNanos()) / 1e9));
    }
    point(out, filter, MEMORY, labels, count(c.memoryBytes()));
    // The sandbox reports usage only, no inactive file pages: the working set is the usage.
    point(out, filter, WORKING_SET, labels, count(c.memoryBytes()));
    point(out, filter, THREADS, labels, count(c.tasks()));
    long limit = f.memoryLimit() == null || f.memoryLimit() < 0 || f.memoryLimit() > MAX_MEMORY ? 0 : f.memoryLimit();
    point(out, filter, MEMORY_LIMIT, labels, Value.ofInt(limit));
    point(out, filter, CPU_PERIOD, labels,
        Value.ofInt((f.cpuPeriod() != null && f.cpuPeriod() > 0 ? f.cpuPeriod() : DEFAULT_CPU_PERIOD)));
    if (f.cpuQuota() != null && f.cpuQuota() > 0) {
      point(out, filter, CPU_QUOTA, labels, Value.ofInt(f.cpuQuota()));
    }
    point(out, filter, CPU_SHARES, labels,
        Value.ofInt((f.cpuShares() != null && f.cpuShares() > 0 ? f.cpuShares() : DEFAULT_CPU_SHARES)));
    if (f.createdAt() != null) {
      point(out, filter, START_TIME, labels, Value.ofInt(f.createdAt().getEpochSecond()));
    }
  }

  /** The kubelet's six labels, always all present (empty when unknown), as /metrics/cadvisor gives them. */
  static Labels labels(ContainerFacts f) {
    String container = f.containerName() != null && !f.containerName().isEmpty() ? f.containerName() : f.id();
    return Labels.of("container", container, "id", cgroupId(f), "image", f.image(), "name", f.id(),
        "namespace", f.namespace() == null ? "" : f.namespace(), "pod", f.podName() == null ? "" : f.podName());
  }

  /**
   * cAdvisor's {@code id}: the container's cgroup path. The OCI spec's {@code linux.cgroupsPath} as a path;
   * systemd's "slice:prefix:name" expanded as systemd does ({@code /a.slice/a-b.slice/prefix-name.scope}).
   */
  static String cgroupId(ContainerFacts f) {
    String p = f.cgroupsPath();
    if (p == null || p.isEmpty()) {
      return "/" + f.id();
    }
    String[] parts = p.split(":", -1);
    if (parts.length == 3 && !p.startsWith("/")) {
      String slice = parts[0].isEmpty() ? "system.slice" : parts[0];
      return HostCgroup.expandSlice(slice) + "/" + parts[1] + "-" + parts[2] + ".scope";
    }
    return p.startsWith("/") ? p : "/" + p;
  }

  private static void point(List<DataPoint> out, MetricNameFilter filter, Metric m, Labels labels, Value v) {
    if (filter.isAll() || filter.matches(m.name())) {
      out.add(DataPoint.of(m, labels, v));
    }
  }

  /** A uint64 as an integer value when it fits a long, else as a float. */
  static Value count(long v) {
    return v >= 0 ? Value.ofInt(v) : Value.ofFloat(unsigned(v));
  }

  static double unsigned(long v) {
    return CpuFormula.toDouble(v);
  }
}
