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
    data = List.copyOf(data);
  }
}
