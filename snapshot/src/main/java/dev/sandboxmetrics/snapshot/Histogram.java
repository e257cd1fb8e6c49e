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
    buckets = List.copyOf(buckets);
  }

  /** The number of samples: the sum of all bucket counts. */
  public long sampleCount() {
    long n = 0;
    for (Bucket b : buckets) {
      n += b.count();
    }
    return n;
  }
}
