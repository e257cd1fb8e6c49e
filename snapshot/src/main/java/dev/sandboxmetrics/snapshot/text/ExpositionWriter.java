package dev.sandboxmetrics.snapshot.text;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Renders snapshots in one exposition format. Adding a format means adding an implementation, not
 * editing a switch.
 */
public interface ExpositionWriter {
  /** The HTTP Content-Type of what {@link #write} produces. */
  String contentType();

  /** True when a client sending this Accept header (may be null) can read this format. */
  boolean accepts(String acceptHeader);

  /**
   * Writes the comment header (each of its lines after {@code "# "}), then every metric of every snapshot,
   * snapshots in the given order. Never throws for bad data: a data point that cannot be rendered is
   * dropped and reported.
   */
  WriteReport write(OutputStream out, String commentHeader, List<SnapshotExport> exports) throws IOException;
}
