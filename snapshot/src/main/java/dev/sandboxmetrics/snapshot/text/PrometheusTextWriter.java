package dev.sandboxmetrics.snapshot.text;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * The Prometheus text format 0.0.4 as runsc writes it (runsc-compat.md section 8), with gVisor's rendering
 * bugs fixed.
 *
 * <p>TODO(writer): implementation arrives with the foundation issue; the signatures are the contract.
 */
public final class PrometheusTextWriter implements ExpositionWriter {
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  @Override
  public boolean accepts(String acceptHeader) {
    return true;
  }

  @Override
  public WriteReport write(OutputStream out, String commentHeader, List<SnapshotExport> exports)
      throws IOException {
    throw new UnsupportedOperationException("not yet");
  }
}
