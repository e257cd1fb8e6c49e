package dev.sandboxmetrics.snapshot;

import java.util.List;
import java.util.Objects;

/**
 * A distribution's value in a snapshot: sum of samples ({@code total}), minimum, maximum, sum of squared
 * deviations ({@code ssd}) and the buckets, underflow first and the +Inf overflow bucket last.
 */
public record Histogram(Value total, Value min, Value max, Value ssd, List<Bucket> buckets) {
  public Histogram {
    Objects.requireNonNull(total, "total");
    Objects.requireNonNull(min, "min");
    Objects.requireNonNull(max, "max");
    Objects.requireNonNull(ssd, "ssd");
    buckets = FixedList.copyOf(buckets);
  }

  /** How many buckets: {@code buckets().size()}, with a call that C1 inlines (see {@link FixedList}). */
  public int bucketCount() {
    return ((FixedList<Bucket>) buckets).size();
  }

  /** The i-th bucket: {@code buckets().get(i)}, with a call that C1 inlines (see {@link FixedList}). */
  public Bucket bucket(int i) {
    return ((FixedList<Bucket>) buckets).get(i);
  }

  /**
   * Stands for min, max and ssd in a {@link #classic} histogram: the writer then leaves out gVisor's
   * {@code _min}, {@code _max} and {@code _ssd} lines. Compared by identity.
   */
  private static final Value NOT_KEPT = Value.ofFloat(0); // a fresh instance: ofFloat never caches

  /**
   * A plain Prometheus histogram (buckets, sum and count only), for the server's own metrics: Prometheus
   * tools know its lines, whereas gVisor's extra three lines are unknown names to them.
   */
  public static Histogram classic(Value total, List<Bucket> buckets) {
    return new Histogram(total, NOT_KEPT, NOT_KEPT, NOT_KEPT, buckets);
  }

  /** Made by {@link #classic}: without min, max and ssd. */
  public boolean isClassic() {
    return min == NOT_KEPT && max == NOT_KEPT && ssd == NOT_KEPT;
  }

  /** The number of samples: the sum of all bucket counts. */
  public long sampleCount() {
    long n = 0;
    for (int i = 0; i < bucketCount(); i++) {
      n += bucket(i).count();
    }
    return n;
  }
}
