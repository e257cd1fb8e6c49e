package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Test fixture (in the snapshot module's test jar): writes snapshots, registrations and the replies a sandbox
 * sends, in runsc's JSON shapes, for tests of the decoders and of the control-socket clients. The product
 * never encodes these: it only reads them. The simulator, which plays a sandbox, has its own Go-faithful
 * writer ({@code simulator/gojson/GoJsonWriter}).
 */
public final class RunscReplies {
  private RunscReplies() {}

  public static void writeSnapshot(OutputStream out, Snapshot snapshot) throws IOException {
    try (JsonGenerator g = generator(out)) {
      RunscJsonWriter.snapshot(g, snapshot);
    }
  }

  public static void writeRegistration(OutputStream out, Registration registration) throws IOException {
    try (JsonGenerator g = generator(out)) {
      RunscJsonWriter.registration(g, registration);
    }
  }

  /** Writes {@code {"success":true,"err":"","result":{"snapshot":...}}}. */
  public static void writeExportReply(OutputStream out, Snapshot snapshot) throws IOException {
    try (JsonGenerator g = generator(out)) {
      RunscJsonWriter.replyStart(g, true, "");
      g.writeStartObject();
      g.writeFieldName("snapshot");
      if (snapshot == null) {
        g.writeNull();
      } else {
        RunscJsonWriter.snapshot(g, snapshot);
      }
      g.writeEndObject();
      g.writeEndObject();
    }
  }

  /** Writes {@code {"success":false,"err":MESSAGE,"result":null}}. */
  public static void writeErrorReply(OutputStream out, String err) throws IOException {
    try (JsonGenerator g = generator(out)) {
      RunscJsonWriter.replyStart(g, false, err);
      g.writeNull();
      g.writeEndObject();
    }
  }

  // The codec's own factory: non-finite floats as bare tokens, as the decoders accept them.
  private static JsonGenerator generator(OutputStream out) throws IOException {
    return RunscJson.factory().createGenerator(out, JsonEncoding.UTF8);
  }
}
