package dev.sandboxmetrics.snapshot.text;

import java.util.List;

/**
 * What a writer did: the bytes it wrote and the data points it had to drop, each with a reason that names
 * the metric (e.g. a label colliding with an added one, or a counter without a value).
 */
public record WriteReport(long bytesWritten, List<String> droppedDataPoints) {
  public WriteReport {
    droppedDataPoints = List.copyOf(droppedDataPoints);
  }
}
