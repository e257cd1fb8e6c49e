package dev.sandboxmetrics.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import java.io.IOException;

/**
 * The alternative to the product's {@link JsonValueFramer} that issue 14 asked to measure: the same
 * contract (where does the JSON object that arrives in pieces end? uRPC has no length prefix), done with
 * Jackson's non-blocking parser, which tokenizes the whole value. Used by {@link ScrapePathBenchmark#frameJackson}
 * next to {@link ScrapePathBenchmark#frame}; it lost (see {@link JsonValueFramer}), so it lives here, kept
 * only so that the comparison can be repeated when Jackson changes.
 *
 * <p>Not thread-safe: one framer per connection.
 */
final class JacksonFramer {
  /**
   * The decoder's factory ({@link RunscJson#factory()}: NaN and Infinity allowed, its limits for untrusted
   * input on string, name and number lengths) with the framer's nesting limit, so that this refuses early
   * exactly what {@link JsonValueFramer} refuses, and a hostile sandbox cannot make the client buffer an
   * endless {@code [[[[...}} or one enormous string before the decoder says no.
   */
  private static final JsonFactory FACTORY =
      RunscJson.factory().rebuild()
          .streamReadConstraints(RunscJson.factory().streamReadConstraints().rebuild()
              .maxNestingDepth(JsonValueFramer.DEFAULT_MAX_DEPTH)
              .build())
          .build();

  private JsonParser parser;
  private ByteArrayFeeder feeder;
  /** Bytes fed to this framer before the current call. */
  private long fed;
  /** Bytes fed to the parser before the current call (blanks before the value are not). */
  private long parsed;
  /** Bytes before the value's '{' (blanks), which the parser does not see. */
  private long skipped;
  private boolean started;
  private boolean done;
  private long consumed;

  /**
   * Feeds the next bytes. Returns the index in {@code buf} just past the end of the value when the value is
   * complete within these bytes, or -1 when more bytes are needed. Bytes after the end are not looked at.
   *
   * @throws RunscJsonException when the bytes cannot start or continue a JSON object
   * @throws IllegalStateException when called again after a complete value without {@link #reset()}
   */
  int feed(byte[] buf, int off, int len) throws RunscJsonException {
    if (done) {
      throw new IllegalStateException("value already complete; reset() before the next one");
    }
    if (len == 0) {
      return -1;
    }
    int start = off;
    int end = off + len;
    if (!started) {
      // Jackson would hold a top-level number or literal until a byte after it arrived; a reply that does
      // not start with '{' is wrong at its first byte.
      while (start < end && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' || buf[start] == '\r')) {
        start++;
      }
      if (start == end) {
        fed += len;
        consumed = fed;
        return -1;
      }
      if (buf[start] != '{') {
        throw new RunscJsonException("expected a JSON object, got " + describe(buf[start]) + " at byte "
            + (fed + start - off));
      }
      started = true;
      skipped = fed + (start - off);
    }
    try {
      if (parser == null) {
        parser = FACTORY.createNonBlockingByteArrayParser();
        feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
      }
      feeder.feedInput(buf, start, end);
      JsonToken t;
      while ((t = parser.nextToken()) != JsonToken.NOT_AVAILABLE) {
        if (t == JsonToken.END_OBJECT && parser.getParsingContext().inRoot()) {
          // The parser counts the bytes it was fed: those before this call, then these from start.
          int stop = start + (int) (parser.currentLocation().getByteOffset() - parsed);
          done = true;
          consumed = fed + (stop - off);
          return stop;
        }
      }
    } catch (JsonProcessingException e) {
      // Jackson's message, without its source excerpt, and where in the value (blanks before it included).
      JsonLocation at = e.getLocation();
      throw new RunscJsonException(e.getOriginalMessage()
          + (at == null || at.getByteOffset() < 0 ? "" : " at byte " + (skipped + at.getByteOffset())), e);
    } catch (IOException e) {
      throw new RunscJsonException("reading bytes in memory: " + e.getMessage(), e);
    }
    fed += len;
    consumed = fed;
    parsed += end - start;
    return -1;
  }

  /** True once a value has been seen to start (its first '{' arrived). */
  boolean started() {
    return started;
  }

  /** Bytes fed so far for this value, up to its end once complete. */
  long consumed() {
    return consumed;
  }

  /** Ready for the next value: a Jackson parser reads one stream, so the next value gets a new one. */
  void reset() {
    if (parser != null) {
      try {
        parser.close();
      } catch (IOException e) {
        throw new IllegalStateException("closing a parser of bytes in memory", e);
      }
      parser = null;
      feeder = null;
    }
    fed = 0;
    parsed = 0;
    skipped = 0;
    consumed = 0;
    started = false;
    done = false;
  }

  private static String describe(byte b) {
    if (b >= 0x21 && b < 0x7f) {
      return "'" + (char) b + "'";
    }
    return String.format("byte 0x%02x", b & 0xff);
  }
}
