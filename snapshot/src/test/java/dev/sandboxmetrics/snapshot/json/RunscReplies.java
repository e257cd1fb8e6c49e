package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.golang.GoJsonWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.time.ZoneOffset;

/**
 * Test fixture (in the snapshot module's test jar): writes snapshots, registrations and the replies a sandbox
 * sends, in runsc's JSON shapes, for tests of the decoders and of the control-socket clients. The product
 * never encodes these: it only reads them. The bytes are Go's, written by the same
 * {@link GoJsonWriter} the simulator answers with; times in UTC.
 */
public final class RunscReplies {
  private RunscReplies() {}

  public static void writeSnapshot(OutputStream out, Snapshot snapshot) throws IOException {
    try (JsonGenerator g = generator(out)) {
      GoJsonWriter.writeSnapshot(g, snapshot, ZoneOffset.UTC);
    }
  }

  public static void writeRegistration(OutputStream out, Registration registration) throws IOException {
    try (JsonGenerator g = generator(out)) {
      GoJsonWriter.writeRegistration(g, registration);
    }
  }

  /** Writes {@code {"success":true,"err":"","result":{"snapshot":...}}}. */
  public static void writeExportReply(OutputStream out, Snapshot snapshot) throws IOException {
    try (JsonGenerator g = generator(out)) {
      replyStart(g, true, "");
      g.writeStartObject();
      g.writeFieldName("snapshot");
      if (snapshot == null) {
        g.writeNull();
      } else {
        GoJsonWriter.writeSnapshot(g, snapshot, ZoneOffset.UTC);
      }
      g.writeEndObject();
      g.writeEndObject();
    }
  }

  /** Writes {@code {"success":false,"err":MESSAGE,"result":null}}. */
  public static void writeErrorReply(OutputStream out, String err) throws IOException {
    try (JsonGenerator g = generator(out)) {
      replyStart(g, false, err);
      g.writeNull();
      g.writeEndObject();
    }
  }

  /** uRPC's callResult: {@code success}, {@code err} and {@code result} are always written. */
  private static void replyStart(JsonGenerator g, boolean success, String err) throws IOException {
    g.writeStartObject();
    g.writeBooleanField("success", success);
    g.writeStringField("err", err == null ? "" : err);
    g.writeFieldName("result");
  }

  private static JsonGenerator generator(OutputStream out) throws IOException {
    return GoJsonWriter.generator(out);
  }
}
