package dev.sandboxmetrics.snapshot.text;

import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.util.Objects;

/**
 * One snapshot to render and how: the prefix put before every metric name ({@code runsc_},
 * {@code runsc_meta_}, or "" for {@code process_start_time_seconds}) and the labels added to each of its
 * lines ({@code sandbox}, {@code iteration}, ...).
 */
public record SnapshotExport(Snapshot snapshot, String prefix, Labels extraLabels) {
  public SnapshotExport {
    Objects.requireNonNull(snapshot, "snapshot");
    prefix = prefix == null ? "" : prefix;
    extraLabels = extraLabels == null ? Labels.EMPTY : extraLabels;
  }
}
