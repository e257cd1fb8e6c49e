package dev.sandboxmetrics.snapshot.text;

import java.io.IOException;
import java.io.OutputStream;

/**
 * One exposition cut into consecutive slices that may be rendered on different threads at once: made by
 * {@link ExpositionWriter#slice}, rendered by the {@code /metrics} endpoint, which compresses each slice as
 * a gzip member of its own and sends the slices in order. The bytes of slices {@code 0..sliceCount()-1},
 * concatenated, are exactly what {@link ExpositionWriter#write} writes for the same input.
 */
public interface SlicedExposition {
  /** The number of slices; 0 when there is nothing to write (no snapshots). */
  int sliceCount();

  /**
   * Renders slice {@code slice} into {@code out} (in pieces of tens of kilobytes; does not flush or close
   * it) and reports its bytes and the data points it dropped. Thread-safe: distinct slices may be rendered
   * concurrently; each slice should be rendered once.
   */
  WriteReport writeSlice(int slice, OutputStream out) throws IOException;
}
