package dev.sandboxmetrics.metricserver.containerstats;

import java.util.Map;

/**
 * runsc's {@code Container.populateStats} (runsc/container/container.go): a container's CPU total from the
 * sentry's per-container split ({@code containerUsage}, every entry counting in the denominator) scaled to
 * the host cgroup's measured usage, with runsc's fallbacks, in Go's arithmetic (uint64 sums, float64 scaling,
 * truncating conversion). Pure; unsigned 64-bit values travel in longs.
 */
public final class CpuFormula {
  /** Where the total came from. */
  public enum Source {
    /** The sentry's split scaled to the host cgroup's usage: the normal case. */
    HOST_CGROUP,
    /** The host cgroup measured usage but the sentry reported none: the usage split equally. */
    HOST_CGROUP_EQUAL_SPLIT,
    /** No host cgroup usage (unreadable, or 0): the sentry's own number, as runsc falls back. */
    SANDBOX,
    /** {@code containerUsage} was empty: runsc reports 0. */
    NO_USAGE
  }

  /** The total in nanoseconds (uint64 bits) and where it came from. */
  record Result(long totalNanos, Source source) {}

  /**
   * What the monotonic check remembers of a container between scrapes.
   *
   * @param sandboxNanos the sandbox's own counter for it ({@code containerUsage[id]}) last accepted
   * @param totalNanos the total last reported (never less than any reported before)
   */
  record Last(long sandboxNanos, long totalNanos) {}

  /**
   * The monotonic check of one container's CPU between scrapes, on what may and may not go down.
   *
   * <p>The sandbox's own counter ({@code containerUsage[id]}: the sentry's accounting, a cgroup counter
   * inside the sandbox) only grows; when it goes down the sandbox is misreporting, and the caller drops the
   * container's rows (null here) until it is back at the last accepted value.
   *
   * <p>runsc's total, {@code mine × (host / Σ all)}, is not monotonic even for a healthy sandbox: the
   * sentry's split and the host cgroup are read at different moments and on different clocks (the sentry
   * charges CPU per clock tick, the kernel per microsecond), and {@code host / Σ all} falls whenever the
   * sandbox's overhead shrinks relative to its containers' work (the sentry's start-up cost amortised), so
   * a container that is idle while the others work sees its total go down, by a nanosecond of rounding or
   * by much more. The counter reported to Prometheus must never go down (a decrease reads as a reset and
   * rate() would count the whole total again), so the total reported is the last one kept until the
   * formula passes it again: the container's CPU stands still instead of vanishing.
   *
   * @param last what was accepted at the previous scrape, or null for the first
   * @return what to remember and report (its {@code totalNanos}), or null when the sandbox's own counter
   *     went down
   */
  static Last advance(Last last, long sandboxNanos, long totalNanos) {
    if (last == null) {
      return new Last(sandboxNanos, totalNanos);
    }
    if (Long.compareUnsigned(sandboxNanos, last.sandboxNanos()) < 0) {
      return null;
    }
    return new Last(sandboxNanos,
        Long.compareUnsigned(totalNanos, last.totalNanos()) < 0 ? last.totalNanos() : totalNanos);
  }

  private CpuFormula() {}

  /**
   * @param hostUsageNanos the host cgroup's CPU usage in nanoseconds (uint64 bits), or null when it cannot
   *     be read
   * @throws ArithmeticException when the entries' sum overflows uint64: Go would wrap around and let the
   *     sandbox inflate one container's share past the pod's measured total, so we refuse the reply
   */
  static Result total(Map<String, Long> containerUsage, String containerId, Long hostUsageNanos) {
    long n = containerUsage.size();
    if (n == 0) {
      return new Result(0, Source.NO_USAGE);
    }
    long mine = 0;
    long all = 0;
    for (Map.Entry<String, Long> e : containerUsage.entrySet()) {
      long u = e.getValue();
      long sum = all + u;
      if (Long.compareUnsigned(sum, all) < 0) {
        throw new ArithmeticException("the containers' CPU usage adds up to more than 2^64 ns");
      }
      all = sum;
      if (e.getKey().equals(containerId)) {
        mine = u;
      }
    }
    if (hostUsageNanos == null || hostUsageNanos == 0) {
      return new Result(mine, Source.SANDBOX);
    }
    long host = hostUsageNanos;
    Source source = Source.HOST_CGROUP;
    if (all == 0) {
      all = host;
      mine = Long.divideUnsigned(host, n);
      source = Source.HOST_CGROUP_EQUAL_SPLIT;
    }
    double total = toDouble(mine) * (toDouble(host) / toDouble(all));
    return new Result(toUint64(total), source);
  }

  /** Go's float64(uint64): rounded to nearest, ties to even. */
  static double toDouble(long uint64) {
    if (uint64 >= 0) {
      return uint64;
    }
    // Halve keeping the lowest bit as a sticky bit, so that the rounding stays correct, then double.
    return ((uint64 >>> 1) | (uint64 & 1)) * 2.0;
  }

  /** Go's uint64(float64) for a non-negative value below 2^64: truncated toward zero. */
  static long toUint64(double v) {
    if (v < 0x1p63) {
      return (long) v;
    }
    if (v >= 0x1p64) {
      return -1L; // Out of range in Go too (implementation-defined); the largest uint64 here.
    }
    return (long) (v - 0x1p63) + Long.MIN_VALUE;
  }
}
