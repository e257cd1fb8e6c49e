package dev.sandboxmetrics.runsc.control;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.UntrustedText;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import dev.sandboxmetrics.snapshot.json.UrpcCall;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The control protocol, independent of how the bytes travel: the bytes of the uRPC calls we make, how a
 * failure to connect is classified (and which one is worth another try), and the checks on replies, with
 * sandbox text bounded and escaped ({@link UntrustedText}). Both transports use it, so they encode and judge
 * identically: the blocking {@link BlockingControlClient} ({@code export-metrics}) and the event-driven
 * {@code collect.EventDrivenControlClient} with the {@code collect.Collector} (the metric server); both receive
 * replies through {@link ReplyBuffer}.
 *
 * <p>A call is a method name and a JSON argument ({@code Metrics.Export}: {@link #exportCall}, decoded by
 * {@link #decodeExportReply}; {@code containerManager.Event}: {@link #eventCall}, whose reply the container
 * stats decode, since only they read it). Every call travels through the same clients, reply buffers and
 * reply budget, and fails with the same {@link ControlException} kinds.
 */
public final class ControlProtocol {
  /** How long to wait before connecting again when the socket's listen backlog is full (EAGAIN). */
  public static final long BACKLOG_RETRY_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(10);

  /** The method that reports a container's stats (the container-stats feature). */
  public static final String EVENT = "containerManager.Event";

  private static final JsonFactory JSON = new JsonFactory();

  private ControlProtocol() {}

  /**
   * Whether a failed connect(2) met a full listen backlog (EAGAIN on a Unix socket: the sandbox does not
   * accept fast enough), which is worth another try within the deadline. The JDK and Netty report the
   * errno only as text.
   */
  public static boolean isBacklogFull(Throwable e) {
    return String.valueOf(e.getMessage()).contains("Resource temporarily unavailable");
  }

  /** A failed connect, classified by its errno (given as text by both the JDK and Netty). */
  public static ControlException connectFailure(Path socket, Throwable e) {
    String m = message(e);
    if (e instanceof java.nio.file.NoSuchFileException || e instanceof java.io.FileNotFoundException
        || m.contains("No such file")) {
      return new ControlException(ControlException.Kind.SOCKET_MISSING, socket, "does not exist", e);
    }
    if (e instanceof java.nio.file.AccessDeniedException || m.contains("Permission denied")) {
      return new ControlException(ControlException.Kind.PERMISSION_DENIED, socket,
          "permission denied (run as the user that owns the sandbox, or as root)", e);
    }
    if (m.contains("Connection refused")) {
      return new ControlException(ControlException.Kind.CONNECTION_REFUSED, socket,
          "connection refused: nothing listens on it (is the sandbox still running?)", e);
    }
    if (isBacklogFull(e)) {
      return new ControlException(ControlException.Kind.TIMED_OUT, socket,
          "timed out connecting: the sandbox does not accept connections (listen backlog full)", e);
    }
    return new ControlException(ControlException.Kind.IO_ERROR, socket, "cannot connect: " + m, e);
  }

  /**
   * The connection closed before the reply was complete: nothing at all (what a runsc sandbox does when Go
   * cannot encode its reply), or a reply cut off after {@code received} bytes.
   *
   * @param why the transport's words for the close, or null
   */
  public static ControlException closedEarly(Path socket, int received, String why, Throwable cause) {
    String suffix = why == null ? "" : " (" + why + ")";
    if (received == 0) {
      return new ControlException(ControlException.Kind.CLOSED_WITHOUT_REPLY, socket,
          "the sandbox closed the connection without replying" + suffix
              + "; a runsc sandbox does this when it cannot encode its metrics", cause);
    }
    return new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
        "the reply was cut off: the connection closed after " + received + " bytes" + suffix, cause);
  }

  /** An exception's message, or its class when it has none. */
  public static String message(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** {@code {"method":"Metrics.Export","arg":{"only_metrics":RE}}}. */
  public static byte[] exportCall(MetricNameFilter filter) {
    return call(UrpcCall.EXPORT, filter.expression());
  }

  /**
   * {@code {"method":"containerManager.Event","arg":"<container ID>"}}: runsc passes the container ID as a
   * bare JSON string (docs/runsc-protocol.md, section 3).
   */
  public static byte[] eventCall(String containerId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("method", EVENT);
      g.writeStringField("arg", containerId);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return out.toByteArray();
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
    ExportReply decoded = readExportReply(reply, off, len, RunscJson.BothSetPolicy.INT_WINS, socket);
    Snapshot snapshot = checkExportReply(decoded, socket);
    checkFilter(snapshot, filter, socket);
    return snapshot;
  }

  /**
   * The snapshot of a decoded reply to {@code Metrics.Export}, if the sandbox succeeded and sent one. The
   * filter is checked separately ({@link #checkFilter}): the server verifies the snapshot first, so that
   * the filter only meets registered metric names.
   *
   * @throws ControlException {@code REMOTE_ERROR} or {@code MALFORMED_REPLY}
   */
  public static Snapshot checkExportReply(ExportReply decoded, Path socket) throws ControlException {
    if (!decoded.success()) {
      throw new ControlException(ControlException.Kind.REMOTE_ERROR, socket,
          "the sandbox failed Metrics.Export: " + remoteText(decoded.err()));
    }
    Snapshot snapshot = decoded.snapshot();
    if (snapshot == null) {
      throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
          "malformed reply to Metrics.Export: success without a snapshot");
    }
    return snapshot;
  }

  /**
   * Decodes a complete reply to {@code Metrics.Export} without judging it.
   *
   * @param policy for a number with both parts set: the integer wins, as gVisor renders it; the metric
   *     server asks for {@link RunscJson.BothSetPolicy#GVISOR_VERIFIER}, which also rejects what gVisor's
   *     verifier rejects
   */
  public static ExportReply readExportReply(byte[] reply, int off, int len, RunscJson.BothSetPolicy policy,
      Path socket) throws ControlException {
    try {
      return RunscJson.readExportReply(reply, off, len, policy);
    } catch (RunscJsonException e) {
      throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
          "malformed reply to Metrics.Export: " + UntrustedText.forLog(e.getMessage()), e);
    }
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
            "the sandbox ignored the metric filter: it returned metric " + UntrustedText.quote(name)
                + ", which does not match the regular expression " + UntrustedText.quote(filter.expression()));
      }
    }
  }

  /** The sandbox's own error text, made safe for a one-line message (it is untrusted and unbounded). */
  public static String remoteText(String err) {
    if (err == null || err.isEmpty()) {
      return "(no error message)";
    }
    return UntrustedText.forLog(err);
  }
}
