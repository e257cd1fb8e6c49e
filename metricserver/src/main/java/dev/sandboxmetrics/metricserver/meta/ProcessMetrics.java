package dev.sandboxmetrics.metricserver.meta;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Value;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process and JVM basics under the names Prometheus users know from the Go and Java client libraries:
 * {@code process_cpu_seconds_total}, {@code process_resident_memory_bytes},
 * {@code process_virtual_memory_bytes}, {@code process_open_fds}, {@code process_max_fds}, and
 * {@code jvm_memory_used_bytes} (and committed, max) by {@code area}, the GC's time and count by
 * {@code gc}, and the thread counts. {@code process_start_time_seconds} stays where runsc has it
 * ({@link MetaMetrics#processSnapshot}). Read when {@code /metrics} is rendered: a few MXBean calls and one
 * read of {@code /proc/self/status}, no sampling thread. Rendered without a prefix.
 */
public final class ProcessMetrics {
  static final Metric CPU_SECONDS = new Metric("process_cpu_seconds_total", MetricType.COUNTER,
      "Total user and system CPU time spent in seconds.");
  static final Metric RESIDENT_MEMORY = new Metric("process_resident_memory_bytes", MetricType.GAUGE,
      "Resident memory size in bytes.");
  static final Metric VIRTUAL_MEMORY = new Metric("process_virtual_memory_bytes", MetricType.GAUGE,
      "Virtual memory size in bytes.");
  static final Metric OPEN_FDS = new Metric("process_open_fds", MetricType.GAUGE,
      "Number of open file descriptors.");
  static final Metric MAX_FDS = new Metric("process_max_fds", MetricType.GAUGE,
      "Maximum number of open file descriptors.");
  static final Metric MEMORY_USED = new Metric("jvm_memory_used_bytes", MetricType.GAUGE,
      "Used bytes of a given JVM memory area.");
  static final Metric MEMORY_COMMITTED = new Metric("jvm_memory_committed_bytes", MetricType.GAUGE,
      "Committed (bytes) of a given JVM memory area.");
  static final Metric MEMORY_MAX = new Metric("jvm_memory_max_bytes", MetricType.GAUGE,
      "Max (bytes) of a given JVM memory area, -1 when undefined.");
  static final Metric GC_SECONDS = new Metric("jvm_gc_collection_seconds_total", MetricType.COUNTER,
      "Time spent in a given JVM garbage collector in seconds.");
  static final Metric GC_COLLECTIONS = new Metric("jvm_gc_collections_total", MetricType.COUNTER,
      "Collections run by a given JVM garbage collector.");
  static final Metric THREADS = new Metric("jvm_threads_current", MetricType.GAUGE,
      "Current thread count of the JVM.");
  static final Metric DAEMON_THREADS = new Metric("jvm_threads_daemon", MetricType.GAUGE,
      "Daemon thread count of the JVM.");
  static final Metric PEAK_THREADS = new Metric("jvm_threads_peak", MetricType.GAUGE,
      "Peak thread count of the JVM.");

  private static final Path PROC_STATUS = Path.of("/proc/self/status");

  private ProcessMetrics() {}

  /** The data points, read now. A value the platform does not give is left out, never made up. */
  public static List<DataPoint> points() {
    List<DataPoint> points = new ArrayList<>(24);
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      long cpu = sun.getProcessCpuTime();
      if (cpu >= 0) {
        points.add(DataPoint.of(CPU_SECONDS, Labels.EMPTY, Value.ofFloat(cpu / 1e9)));
      }
    }
    long[] memory = residentAndVirtualBytes();
    if (memory != null) {
      points.add(DataPoint.of(RESIDENT_MEMORY, Labels.EMPTY, Value.ofInt(memory[0])));
      points.add(DataPoint.of(VIRTUAL_MEMORY, Labels.EMPTY, Value.ofInt(memory[1])));
    }
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      points.add(DataPoint.of(OPEN_FDS, Labels.EMPTY, Value.ofInt(unix.getOpenFileDescriptorCount())));
      points.add(DataPoint.of(MAX_FDS, Labels.EMPTY, Value.ofInt(unix.getMaxFileDescriptorCount())));
    }
    // The writer wants the points of one metric together (one HELP and TYPE per name): metric by metric.
    var memoryBean = ManagementFactory.getMemoryMXBean();
    MemoryUsage heap = memoryBean.getHeapMemoryUsage();
    MemoryUsage nonHeap = memoryBean.getNonHeapMemoryUsage();
    Labels heapArea = Labels.of("area", "heap");
    Labels nonHeapArea = Labels.of("area", "nonheap");
    points.add(DataPoint.of(MEMORY_USED, heapArea, Value.ofInt(heap.getUsed())));
    points.add(DataPoint.of(MEMORY_USED, nonHeapArea, Value.ofInt(nonHeap.getUsed())));
    points.add(DataPoint.of(MEMORY_COMMITTED, heapArea, Value.ofInt(heap.getCommitted())));
    points.add(DataPoint.of(MEMORY_COMMITTED, nonHeapArea, Value.ofInt(nonHeap.getCommitted())));
    points.add(DataPoint.of(MEMORY_MAX, heapArea, Value.ofInt(heap.getMax())));
    points.add(DataPoint.of(MEMORY_MAX, nonHeapArea, Value.ofInt(nonHeap.getMax())));
    List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans();
    for (GarbageCollectorMXBean gc : collectors) {
      long millis = gc.getCollectionTime();
      if (millis >= 0) {
        points.add(DataPoint.of(GC_SECONDS, Labels.of("gc", gc.getName()), Value.ofFloat(millis / 1e3)));
      }
    }
    for (GarbageCollectorMXBean gc : collectors) {
      long count = gc.getCollectionCount();
      if (count >= 0) {
        points.add(DataPoint.of(GC_COLLECTIONS, Labels.of("gc", gc.getName()), Value.ofInt(count)));
      }
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    points.add(DataPoint.of(THREADS, Labels.EMPTY, Value.ofInt(threads.getThreadCount())));
    points.add(DataPoint.of(DAEMON_THREADS, Labels.EMPTY, Value.ofInt(threads.getDaemonThreadCount())));
    points.add(DataPoint.of(PEAK_THREADS, Labels.EMPTY, Value.ofInt(threads.getPeakThreadCount())));
    return points;
  }

  /** VmRSS and VmSize of /proc/self/status in bytes, or null where there is no such file (not Linux). */
  static long[] residentAndVirtualBytes() {
    String status;
    try {
      status = Files.readString(PROC_STATUS, StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      return null;
    }
    long rss = -1;
    long size = -1;
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        rss = kilobytes(line);
      } else if (line.startsWith("VmSize:")) {
        size = kilobytes(line);
      }
    }
    return rss < 0 || size < 0 ? null : new long[] {rss, size};
  }

  private static long kilobytes(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
    try {
      return Long.parseLong(parts[0]) * 1024;
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
