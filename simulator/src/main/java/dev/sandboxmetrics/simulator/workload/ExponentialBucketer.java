package dev.sandboxmetrics.simulator.workload;

import java.util.ArrayList;
import java.util.List;

/**
 * gVisor's only distribution bucketer, reproduced so that simulated distributions register the same kind of
 * lower bounds and sort samples into buckets the same way: {@code n} finite buckets with lower bounds
 * {@code 0} and {@code floor(width*i + scale*growth^(i-1))} for i = 1..n, plus an underflow bucket (negative
 * samples) and an overflow bucket. A snapshot therefore has n+2 buckets whose upper bounds are the n+1 lower
 * bounds followed by +Inf.
 */
public final class ExponentialBucketer {
  private final long[] lowerBounds;

  public ExponentialBucketer(int finiteBuckets, long width, double scale, double growth) {
    if (finiteBuckets < 1 || finiteBuckets > 100) {
      throw new IllegalArgumentException("finite buckets must be in [1, 100], got " + finiteBuckets);
    }
    lowerBounds = new long[finiteBuckets + 1];
    for (int i = 1; i <= finiteBuckets; i++) {
      lowerBounds[i] = (long) ((double) width * i + scale * Math.pow(growth, i - 1));
    }
  }

  /** Finite buckets n; a snapshot holds n+2 buckets. */
  public int finiteBuckets() {
    return lowerBounds.length - 1;
  }

  /** The n+1 lower bounds a registration lists. */
  public List<Long> lowerBounds() {
    List<Long> out = new ArrayList<>(lowerBounds.length);
    for (long b : lowerBounds) {
      out.add(b);
    }
    return out;
  }

  /** Upper bound of snapshot bucket {@code i} for i <= n (the last bucket's is +Inf). */
  public long upperBound(int i) {
    return lowerBounds[i];
  }

  /** The snapshot bucket a sample falls in: 0 for negative samples, n+1 for the overflow. */
  public int bucketOf(long sample) {
    if (sample < 0) {
      return 0;
    }
    int n = finiteBuckets();
    if (sample >= lowerBounds[n]) {
      return n + 1;
    }
    int lo = 0;
    int hi = n;
    // Invariant: lowerBounds[lo] <= sample < lowerBounds[hi].
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (sample < lowerBounds[mid]) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return lo + 1;
  }
}
