package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonParser;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The codec for the JSON shapes runsc speaks (runsc-compat.md section 4): snapshots, registrations, uRPC
 * calls and replies. Decoding is strict about shapes and lenient about unknown fields; encoding omits empty
 * fields as Go's encoding/json does. Written on Jackson's streaming API.
 *
 * <p>TODO(codec): implementation arrives with the foundation issue; the signatures are the contract.
 */
public final class RunscJson {
  private RunscJson() {}

  // ---- decoding ----

  public static Snapshot readSnapshot(byte[] json, int off, int len) throws RunscJsonException {
    throw new UnsupportedOperationException("not yet");
  }

  public static Snapshot readSnapshot(InputStream in) throws RunscJsonException, IOException {
    throw new UnsupportedOperationException("not yet");
  }

  /** Decodes a registration; the parser is positioned on (or just before) its START_OBJECT. */
  public static Registration readRegistration(JsonParser parser) throws RunscJsonException, IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public static Registration readRegistration(byte[] json, int off, int len) throws RunscJsonException {
    throw new UnsupportedOperationException("not yet");
  }

  public static ExportReply readExportReply(byte[] json, int off, int len) throws RunscJsonException {
    throw new UnsupportedOperationException("not yet");
  }

  public static RegisteredMetricsReply readRegisteredMetricsReply(byte[] json, int off, int len)
      throws RunscJsonException {
    throw new UnsupportedOperationException("not yet");
  }

  /**
   * Reads the next call from a stream of calls (several per connection), or returns null at the end of the
   * stream.
   */
  public static UrpcCall readCall(JsonParser parser) throws RunscJsonException, IOException {
    throw new UnsupportedOperationException("not yet");
  }

  // ---- encoding ----

  public static void writeSnapshot(OutputStream out, Snapshot snapshot) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public static void writeRegistration(OutputStream out, Registration registration) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  /** Writes {@code {"method":M,"arg":{"only_metrics":RE}}} (arg {} for GetRegisteredMetrics). */
  public static void writeCall(OutputStream out, String method, String onlyMetrics) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public static void writeExportReply(OutputStream out, Snapshot snapshot) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  public static void writeRegisteredMetricsReply(OutputStream out, Registration registration)
      throws IOException {
    throw new UnsupportedOperationException("not yet");
  }

  /** Writes {@code {"success":false,"err":MESSAGE,"result":null}}. */
  public static void writeErrorReply(OutputStream out, String err) throws IOException {
    throw new UnsupportedOperationException("not yet");
  }
}
