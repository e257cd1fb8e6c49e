package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;

/**
 * The codec for the JSON shapes runsc speaks (docs/runsc-protocol.md section 4): it encodes uRPC calls and
 * decodes snapshots, registrations and replies. Both control-socket clients (the metric server's and
 * export-metrics') encode their calls and decode the replies with it, and the state-file reader decodes
 * registrations. The client never writes the sandbox's side: the simulator, which plays the sandbox, and
 * the tests (through {@code RunscReplies} in this module's test jar) do, both with the Go-faithful
 * {@code golang/GoJsonWriter}.
 *
 * <p>Decoding is strict about shapes and lenient about unknown members (skipped, as Go does). Every
 * malformed input gives a {@link RunscJsonException} naming the path and the line/column, never another
 * exception. Decoders for streams and parsers let genuine I/O failures through as {@link IOException};
 * the byte-array decoders never throw one. Encoding omits empty members as Go's encoding/json does.
 *
 * <p>Numbers: {@code {"int": N}}, {@code {"float": F}} or {@code {}} (zero). As in Go, a member that is zero
 * counts as absent. Floats may also be the tokens {@code Infinity}, {@code -Infinity}, {@code NaN} or the
 * strings {@code "+Inf"}, {@code "-Inf"}, {@code "Inf"}, {@code "NaN"}, {@code "Infinity"},
 * {@code "-Infinity"}. A number with both int and float set decodes as gVisor reads it: the integer wins
 * ({@code Number.ToFloat}, and its text writer prints the integer; gVisor's golden case 02). The metric
 * server asks for {@link BothSetPolicy#GVISOR_VERIFIER}, which also rejects what gVisor's verifier rejects
 * (a data point's value whose float part is not an integer: {@code IsInteger} looks at the float part, and
 * every gVisor scalar metric is an integer metric); our model holds one kind, so this is decided here.
 *
 * <p>All parsers and generators come from one {@link JsonFactory} configured here: non-numeric numbers on,
 * field names canonicalized but not {@code String.intern}ed (hostile names must not fill the JVM's pool),
 * input neither closed nor trusted for size ({@link StreamReadConstraints} as a second line of defence
 * behind the decoder's own depth limit).
 */
public final class RunscJson {
  /** What to do with a number that has both {@code int} and {@code float} set. */
  public enum BothSetPolicy {
    /** An error (strict decoding, for tests of the decoders). */
    REJECT,
    /** Keep the integer, as gVisor renders it: {@code export-metrics} (runsc's has no verifier). */
    INT_WINS,
    /**
     * Keep the integer, except in a data point's value whose float part gVisor's {@code IsInteger} rejects
     * (fractional, NaN, infinite or beyond int64): an error, as gVisor's verifier's "integer metric got
     * non-integer value". The metric server's.
     */
    GVISOR_VERIFIER
  }

  /** Whether a number with both parts set keeps its integer under {@code policy}. */
  static boolean intWins(BothSetPolicy policy, boolean scalar, double floatPart) {
    switch (policy) {
      case INT_WINS:
        return true;
      case GVISOR_VERIFIER:
        return !scalar || goIsInteger(floatPart);
      default:
        return false;
    }
  }

  /** gVisor's {@code Number.IsInteger} of a float part. */
  private static boolean goIsInteger(double f) {
    return f == 0 || (!Double.isNaN(f) && !Double.isInfinite(f) && f < (double) Long.MAX_VALUE
        && f > (double) Long.MIN_VALUE && Math.rint(f) == f);
  }

  /** Longest string token accepted; runsc's strings are names, help texts and error messages. */
  private static final int MAX_STRING_LENGTH = 1 << 20;

  /*
   * Limits for untrusted bytes (every sandbox's reply passes here), each far above what runsc writes and
   * far below what would cost us: nesting a backstop above RunscJsonReader.MAX_DEPTH, so the reader's own
   * check (which names the path) speaks first; numbers of at most 500 characters (a float64 or uint64 needs
   * 25, and parsing a long number costs more than linear time); names of at most 64 KiB (runsc's are under
   * 100 bytes; each new one enters the parser's symbol table); strings of at most 1 MiB (help texts and
   * error messages are a few KB). The reply as a whole is capped before decoding (--max-reply-bytes).
   */
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
          .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
          .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
          .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
          .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(RunscJsonReader.MAX_DEPTH + 36)
                  .maxNumberLength(500)
                  .maxStringLength(MAX_STRING_LENGTH)
                  .maxNameLength(64 * 1024)
                  .build())
          .build();

  private RunscJson() {}

  /** The shared factory, for callers that build their own parsers or generators on runsc JSON. */
  public static JsonFactory factory() {
    return FACTORY;
  }

  /**
   * A parser over a stream, configured for runsc JSON, for the decoders that take a parser. Closing the
   * parser does not close the stream.
   */
  public static JsonParser createParser(InputStream in) throws IOException {
    return FACTORY.createParser(in);
  }

  // ---- decoding ----

  /** Decodes a snapshot, strictly. */
  public static Snapshot readSnapshot(byte[] json, int off, int len) throws RunscJsonException {
    return readSnapshot(json, off, len, BothSetPolicy.INT_WINS);
  }

  public static Snapshot readSnapshot(byte[] json, int off, int len, BothSetPolicy policy)
      throws RunscJsonException {
    Objects.checkFromIndexSize(off, len, json.length);
    Snapshot fast = fastSnapshot(json, off, len, Objects.requireNonNull(policy, "policy"));
    if (fast != null) {
      return fast;
    }
    return readSnapshotWithReader(json, off, len, policy);
  }

  /** {@link RunscJsonReader} alone, without the fast path: what unusual input gets, and the tests' oracle. */
  static Snapshot readSnapshotWithReader(byte[] json, int off, int len, BothSetPolicy policy)
      throws RunscJsonException {
    return decodeBytes(json, off, len, policy, r -> r.snapshot(r.nextToken()));
  }

  /** Decodes a snapshot that is the whole stream; the stream is not closed. */
  public static Snapshot readSnapshot(InputStream in) throws RunscJsonException, IOException {
    try (JsonParser p = FACTORY.createParser(in)) {
      return RunscJsonReader.decodeDocument(p, BothSetPolicy.INT_WINS, r -> r.snapshot(r.nextToken()));
    }
  }

  /**
   * Decodes the snapshot the parser is on (or just before); afterwards the parser is on its END_OBJECT.
   * For snapshots embedded in other documents, e.g. test cases.
   */
  public static Snapshot readSnapshot(JsonParser parser, BothSetPolicy policy)
      throws RunscJsonException, IOException {
    return RunscJsonReader.decodeValue(parser, policy, r -> r.snapshot(r.currentOrNextValue()));
  }

  /**
   * Decodes a registration; the parser is positioned on (or just before) its START_OBJECT, and ends on its
   * END_OBJECT. Works with any parser, e.g. one from a databind mapper reading a state file.
   *
   * @return null when the value is JSON null: a sandbox that did not register metrics (runsc writes
   *     {@code "registeredMetrics": null} then)
   */
  public static Registration readRegistration(JsonParser parser) throws RunscJsonException, IOException {
    return RunscJsonReader.decodeValue(
        parser,
        BothSetPolicy.REJECT,
        r -> {
          JsonToken t = r.currentOrNextValue();
          return t == JsonToken.VALUE_NULL ? null : r.registration(t);
        });
  }

  public static Registration readRegistration(byte[] json, int off, int len) throws RunscJsonException {
    return decodeBytes(json, off, len, BothSetPolicy.REJECT, r -> r.registration(r.nextToken()));
  }

  /**
   * Decodes a reply to {@code Metrics.Export}. A successful reply must carry a snapshot; an unsuccessful one
   * gives {@code snapshot == null} and the sandbox's message in {@code err}.
   */
  public static ExportReply readExportReply(byte[] json, int off, int len) throws RunscJsonException {
    return readExportReply(json, off, len, BothSetPolicy.INT_WINS);
  }

  /** {@link #readExportReply(byte[], int, int)} with a policy for numbers with both parts set. */
  public static ExportReply readExportReply(byte[] json, int off, int len, BothSetPolicy policy)
      throws RunscJsonException {
    Objects.checkFromIndexSize(off, len, json.length);
    ExportReply fast = fastExportReply(json, off, len, policy);
    if (fast != null) {
      return fast;
    }
    return readExportReplyWithReader(json, off, len, policy);
  }

  /**
   * The reply these bytes hold when they are exactly one complete reply (whitespace around it allowed) that
   * the fast path decodes; null otherwise: incomplete, malformed, or unusual enough to need the full reader.
   * Lets a client that receives a reply in pieces skip finding its end when the bytes so far already decode
   * (the usual case); on null it must frame the bytes and decode with {@link #readExportReply}, which says
   * what, if anything, is wrong. Returns what {@link #readExportReply} would for the same bytes.
   */
  public static ExportReply readCompleteExportReplyOrNull(byte[] json, int off, int len) {
    return readCompleteExportReplyOrNull(json, off, len, BothSetPolicy.INT_WINS);
  }

  /** {@link #readCompleteExportReplyOrNull(byte[], int, int)} with a policy for numbers with both parts set. */
  public static ExportReply readCompleteExportReplyOrNull(byte[] json, int off, int len, BothSetPolicy policy) {
    Objects.checkFromIndexSize(off, len, json.length);
    return fastExportReply(json, off, len, policy);
  }

  /** {@link RunscJsonReader} alone, as for {@link #readSnapshotWithReader}. */
  static ExportReply readExportReplyWithReader(byte[] json, int off, int len) throws RunscJsonException {
    return readExportReplyWithReader(json, off, len, BothSetPolicy.INT_WINS);
  }

  static ExportReply readExportReplyWithReader(byte[] json, int off, int len, BothSetPolicy policy)
      throws RunscJsonException {
    RunscJsonReader.Reply<Snapshot> reply =
        decodeBytes(
            json,
            off,
            len,
            policy,
            r -> r.reply(r.nextToken(), "snapshot", rr -> rr.snapshot(rr.current())));
    return new ExportReply(reply.success(), reply.err(), reply.result());
  }

  // The scrape path tries FastSnapshotReader first; whatever it does not vouch for, the reader decides, so
  // acceptance and error messages stay the reader's. A bug in the fast path must not cost a scrape or
  // escape as an unchecked exception: it, too, falls back to the reader (tests call the fast path directly).

  private static Snapshot fastSnapshot(byte[] json, int off, int len, BothSetPolicy policy) {
    try {
      return FastSnapshotReader.snapshot(json, off, len, policy);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static ExportReply fastExportReply(byte[] json, int off, int len, BothSetPolicy policy) {
    try {
      return FastSnapshotReader.exportReply(json, off, len, policy);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static <T> T decodeBytes(
      byte[] json, int off, int len, BothSetPolicy policy, RunscJsonReader.Body<T> body)
      throws RunscJsonException {
    Objects.checkFromIndexSize(off, len, json.length);
    try (JsonParser p = FACTORY.createParser(json, off, len)) {
      return RunscJsonReader.decodeDocument(p, Objects.requireNonNull(policy, "policy"), body);
    } catch (RunscJsonException e) {
      throw e;
    } catch (IOException e) {
      // Unreachable for an in-memory source; kept checked for the contract.
      throw new RunscJsonException("cannot read JSON: " + e.getMessage(), e);
    }
  }

  // ---- encoding ----

  /**
   * Writes {@code {"method":M,"arg":{"only_metrics":RE}}} for {@code Metrics.Export} ({@code only_metrics} is
   * written even when empty: runsc's struct has no omitempty), and {@code {"method":M,"arg":{}}} for any
   * other method.
   */
  public static void writeCall(OutputStream out, String method, String onlyMetrics) throws IOException {
    try (JsonGenerator g = generator(out)) {
      g.writeStartObject();
      g.writeStringField("method", method);
      g.writeObjectFieldStart("arg");
      if (UrpcCall.EXPORT.equals(method)) {
        g.writeStringField("only_metrics", onlyMetrics == null ? "" : onlyMetrics);
      }
      g.writeEndObject();
      g.writeEndObject();
    }
  }

  private static JsonGenerator generator(OutputStream out) throws IOException {
    return FACTORY.createGenerator(out, JsonEncoding.UTF8);
  }
}
