package dev.sandboxmetrics.snapshot;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A sandbox's metric values at one instant, in the order the sandbox sent them. {@code when} keeps
 * nanoseconds; the exposition uses milliseconds.
 */
public record Snapshot(Instant when, List<DataPoint> data) {
  public Snapshot {
    Objects.requireNonNull(when, "when");
    data = FixedList.copyOf(data);
  }

  /** How many data points: {@code data().size()}, with a call that C1 inlines (see {@link FixedList}). */
  public int pointCount() {
    return ((FixedList<DataPoint>) data).size();
  }

  /** The i-th data point: {@code data().get(i)}, with a call that C1 inlines (see {@link FixedList}). */
  public DataPoint point(int i) {
    return ((FixedList<DataPoint>) data).get(i);
  }
}
