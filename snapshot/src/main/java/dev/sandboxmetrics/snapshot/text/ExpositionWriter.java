package dev.sandboxmetrics.snapshot.text;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Renders snapshots in an exposition format: what {@code MetricsEndpoint} writes a scrape's body with. The one
 * implementation is {@link PrometheusTextWriter}, the text format runsc serves; there is no content
 * negotiation (runsc has none, and every Prometheus client reads the text format), so the server ignores
 * the request's Accept header.
 */
public interface ExpositionWriter {
  /** The HTTP Content-Type of what {@link #write} produces. */
  String contentType();

  /**
   * Writes the comment header (each of its lines after {@code "# "}), then every metric of every snapshot,
   * snapshots in the given order. Never throws for bad data: a data point that cannot be rendered is
   * dropped and reported.
   */
  WriteReport write(OutputStream out, String commentHeader, List<SnapshotExport> exports) throws IOException;

  /**
   * The same output as {@link #write}, laid out in slices of about {@code sliceBytes} bytes (0 for one slice)
   * that may be rendered in parallel and concatenated in order.
   */
  SlicedExposition slice(String commentHeader, List<SnapshotExport> exports, int sliceBytes);
}
