package dev.sandboxmetrics.metricserver.control;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.json.UrpcCall;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The bytes of the uRPC calls we make and the checks on their replies, independent of how the bytes travel.
 * {@link ControlClient} (blocking callers such as {@code export-metrics}) and the metric server's
 * non-blocking collector both use it, so they encode and judge replies identically.
 */
public final class ControlProtocol {
  private ControlProtocol() {}

  /** {@code {"method":"Metrics.Export","arg":{"only_metrics":RE}}}. */
  public static byte[] exportCall(MetricNameFilter filter) {
    return call(UrpcCall.EXPORT, filter.expression());
  }

  private static byte[] call(String method, String onlyMetrics) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try {
      RunscJson.writeCall(out, method, onlyMetrics);
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return out.toByteArray();
  }

  /**
   * Decodes one complete reply to {@code Metrics.Export} and checks it: the sandbox must have succeeded,
   * sent a snapshot, and kept only metrics that {@code filter} matches (an unanchored search, as the
   * sandbox applies it; a sandbox is untrusted and may ignore the filter).
   *
   * @param socket named in error messages; may be null
   * @throws ControlException {@code REMOTE_ERROR}, {@code MALFORMED_REPLY} or {@code FILTER_VIOLATED}
   */
  public static Snapshot decodeExportReply(byte[] reply, int off, int len, MetricNameFilter filter, Path socket)
      throws ControlException {
    ExportReply decoded;
    try {
      decoded = RunscJson.readExportReply(reply, off, len);
    } catch (RunscJsonException e) {
      throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
          "malformed reply to Metrics.Export: " + e.getMessage(), e);
    }
    if (!decoded.success()) {
      throw new ControlException(ControlException.Kind.REMOTE_ERROR, socket,
          "the sandbox failed Metrics.Export: " + remoteText(decoded.err()));
    }
    Snapshot snapshot = decoded.snapshot();
    if (snapshot == null) {
      throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
          "malformed reply to Metrics.Export: success without a snapshot");
    }
    checkFilter(snapshot, filter, socket);
    return snapshot;
  }

  /**
   * Throws when a data point's metric name does not match the filter: runsc's {@code MetricsExportOpts.Verify}.
   */
  public static void checkFilter(Snapshot snapshot, MetricNameFilter filter, Path socket) throws ControlException {
    if (filter.isAll()) {
      return;
    }
    for (DataPoint d : snapshot.data()) {
      String name = d.metric().name();
      if (!filter.matches(name)) {
        throw new ControlException(ControlException.Kind.FILTER_VIOLATED, socket,
            "the sandbox ignored the metric filter: it returned metric \"" + name
                + "\", which does not match the regular expression \"" + filter.expression() + "\"");
      }
    }
  }

  /** The sandbox's own error text, made safe for a one-line message (it is untrusted and unbounded). */
  static String remoteText(String err) {
    if (err == null || err.isEmpty()) {
      return "(no error message)";
    }
    StringBuilder b = new StringBuilder(Math.min(err.length(), 500));
    for (int i = 0; i < err.length() && b.length() < 500; i++) {
      char c = err.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    if (err.length() > 500) {
      b.append("... (").append(err.length()).append(" characters)");
    }
    return b.toString();
  }
}
