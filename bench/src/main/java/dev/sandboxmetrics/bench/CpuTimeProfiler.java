package dev.sandboxmetrics.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * CPU time per operation, next to JMH's wall-clock score: on a machine shared with other work (ours has two
 * cores and often a load of several), the wall clock also counts the time the benchmark waited for a core,
 * while CPU time counts only the work. {@code bench/run-jmh} turns it on with
 * {@code -prof dev.sandboxmetrics.bench.CpuTimeProfiler}.
 *
 * <p>Reports {@code cpu.worker.norm}, the CPU time of JMH's worker threads (the benchmark code itself, one
 * thread here), and {@code cpu.process.norm}, that of the whole JVM, which adds garbage collection and
 * compilation. Both in microseconds per operation.
 */
public final class CpuTimeProfiler implements InternalProfiler {
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final Map<Long, Long> workerCpuBefore = new HashMap<>();
  private long processCpuBefore;

  @Override
  public String getDescription() {
    return "CPU time per operation: of JMH's worker threads, and of the whole JVM";
  }

  @Override
  public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
    workerCpuBefore.clear();
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && isWorker(t)) {
        workerCpuBefore.put(t.getThreadId(), threads.getThreadCpuTime(t.getThreadId()));
      }
    }
    processCpuBefore = os.getProcessCpuTime();
  }

  @Override
  public Collection<? extends Result<?>> afterIteration(
      BenchmarkParams benchmarkParams, IterationParams iterationParams, IterationResult result) {
    long process = os.getProcessCpuTime() - processCpuBefore;
    long worker = 0;
    for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (t != null && isWorker(t)) {
        long now = threads.getThreadCpuTime(t.getThreadId());
        if (now >= 0) {
          // A worker started during the iteration spent all of its time in it.
          worker += now - workerCpuBefore.getOrDefault(t.getThreadId(), 0L);
        }
      }
    }
    long ops = result.getMetadata().getAllOps();
    if (ops <= 0) {
      return List.of();
    }
    return List.of(
        new ScalarResult("cpu.worker.norm", worker / 1e3 / ops, "us/op", AggregationPolicy.AVG),
        new ScalarResult("cpu.process.norm", process / 1e3 / ops, "us/op", AggregationPolicy.AVG));
  }

  private static boolean isWorker(ThreadInfo t) {
    return t.getThreadName().contains("jmh-worker");
  }
}
