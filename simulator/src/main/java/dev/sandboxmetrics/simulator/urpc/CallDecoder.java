package dev.sandboxmetrics.simulator.urpc;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import dev.sandboxmetrics.simulator.urpc.Call.JsonKind;
import java.io.IOException;

/**
 * Decodes the successive calls of one connection from bytes that arrive in pieces. uRPC has no framing: a
 * call is one JSON value on the stream, and the next one may follow in the same read, so this runs Jackson's
 * non-blocking parser over the stream and assembles {@link Call}s from its tokens. What Go's decoder would
 * refuse (a value that is not an object, a method that is not a string, broken JSON) is a
 * {@link ProtocolException}: the sandbox drops the connection, as runsc does.
 *
 * <p>Not thread-safe; owned by one connection on its event loop.
 */
final class CallDecoder {
  /** Far above any real call; a client sending more is broken or hostile. */
  static final int MAX_CALL_BYTES = 1 << 20;

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(64)
                  .maxStringLength(MAX_CALL_BYTES)
                  .maxNameLength(4096)
                  .build())
          .build();

  private enum Slot {
    NONE,
    METHOD,
    ARG,
    ONLY_METRICS,
    OTHER
  }

  private final JsonParser parser;
  private final ByteArrayFeeder feeder;

  private int depth;
  private int skipDepth;
  private Slot slot = Slot.NONE;
  private long callStart;

  private String method;
  private boolean methodInvalid;
  private JsonKind arg;
  private JsonKind onlyMetricsKind;
  private JsonKind onlyMetricsInvalid;
  private String onlyMetrics;
  private String argString;

  CallDecoder() {
    try {
      parser = FACTORY.createNonBlockingByteArrayParser();
    } catch (IOException e) {
      throw new IllegalStateException("Jackson cannot create a non-blocking parser", e);
    }
    feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
  }

  /** True when every byte fed so far has been consumed. */
  boolean needsInput() {
    return feeder.needMoreInput();
  }

  /** Hands over bytes; the array must not change until {@link #needsInput()} is true again. */
  void feed(byte[] buf, int off, int len) throws ProtocolException {
    try {
      feeder.feedInput(buf, off, off + len);
    } catch (IOException e) {
      throw new ProtocolException("cannot feed parser: " + e.getMessage());
    }
  }

  /**
   * The next complete call, or null when more bytes are needed.
   *
   * @throws ProtocolException when the bytes are not a call Go's decoder would accept
   */
  Call next() throws ProtocolException {
    try {
      while (true) {
        JsonToken t = parser.nextToken();
        if (t == null || t == JsonToken.NOT_AVAILABLE) {
          return null;
        }
        if (depth > 0 && parser.currentLocation().getByteOffset() - callStart > MAX_CALL_BYTES) {
          throw new ProtocolException("call larger than " + MAX_CALL_BYTES + " bytes");
        }
        Call call = onToken(t);
        if (call != null) {
          return call;
        }
      }
    } catch (IOException e) {
      throw new ProtocolException("invalid JSON: " + e.getMessage());
    }
  }

  private Call onToken(JsonToken t) throws IOException, ProtocolException {
    if (skipDepth > 0) {
      if (t.isStructStart()) {
        skipDepth++;
      } else if (t.isStructEnd()) {
        skipDepth--;
      }
      return null;
    }
    switch (depth) {
      case 0:
        return onRoot(t);
      case 1:
        return onCallMember(t);
      default:
        onArgMember(t);
        return null;
    }
  }

  private Call onRoot(JsonToken t) throws ProtocolException {
    if (t == JsonToken.VALUE_NULL) {
      // Go decodes null into the zero call: no method, so "unknown method".
      return new Call("", JsonKind.MISSING, JsonKind.MISSING, "");
    }
    if (t != JsonToken.START_OBJECT) {
      throw new ProtocolException("call is a JSON " + kindOf(t).goName() + ", not an object");
    }
    depth = 1;
    slot = Slot.NONE;
    callStart = parser.currentTokenLocation().getByteOffset();
    method = "";
    methodInvalid = false;
    arg = JsonKind.MISSING;
    argString = "";
    resetArg();
    return null;
  }

  private Call onCallMember(JsonToken t) throws IOException, ProtocolException {
    if (t == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      slot = name.equalsIgnoreCase("method") ? Slot.METHOD : name.equalsIgnoreCase("arg") ? Slot.ARG : Slot.OTHER;
      return null;
    }
    if (t == JsonToken.END_OBJECT) {
      depth = 0;
      if (methodInvalid) {
        throw new ProtocolException("call's method is not a string");
      }
      JsonKind om = onlyMetricsInvalid != null ? onlyMetricsInvalid : onlyMetricsKind;
      return new Call(method, arg, om, onlyMetrics, argString);
    }
    Slot s = slot;
    slot = Slot.NONE;
    switch (s) {
      case METHOD:
        if (t == JsonToken.VALUE_STRING) {
          method = parser.getText();
        } else if (t != JsonToken.VALUE_NULL) {
          methodInvalid = true;
          skipIfStruct(t);
        }
        return null;
      case ARG:
        arg = kindOf(t);
        argString = t == JsonToken.VALUE_STRING ? parser.getText() : "";
        resetArg();
        if (t == JsonToken.START_OBJECT) {
          depth = 2;
        } else {
          skipIfStruct(t);
        }
        return null;
      default:
        skipIfStruct(t);
        return null;
    }
  }

  private void onArgMember(JsonToken t) throws IOException {
    if (t == JsonToken.FIELD_NAME) {
      slot = parser.currentName().equalsIgnoreCase("only_metrics") ? Slot.ONLY_METRICS : Slot.OTHER;
      return;
    }
    if (t == JsonToken.END_OBJECT) {
      depth = 1;
      return;
    }
    Slot s = slot;
    slot = Slot.NONE;
    if (s == Slot.ONLY_METRICS) {
      if (t == JsonToken.VALUE_STRING) {
        onlyMetricsKind = JsonKind.STRING;
        onlyMetrics = parser.getText();
      } else if (t == JsonToken.VALUE_NULL) {
        if (onlyMetricsKind == JsonKind.MISSING) {
          onlyMetricsKind = JsonKind.NULL;
        }
      } else if (onlyMetricsInvalid == null) {
        // Go keeps the first type error and reports it after decoding the rest.
        onlyMetricsInvalid = kindOf(t);
      }
    }
    skipIfStruct(t);
  }

  private void resetArg() {
    onlyMetricsKind = JsonKind.MISSING;
    onlyMetricsInvalid = null;
    onlyMetrics = "";
  }

  private void skipIfStruct(JsonToken t) {
    if (t.isStructStart()) {
      skipDepth = 1;
    }
  }

  private static JsonKind kindOf(JsonToken t) {
    switch (t) {
      case START_OBJECT:
        return JsonKind.OBJECT;
      case START_ARRAY:
        return JsonKind.ARRAY;
      case VALUE_STRING:
        return JsonKind.STRING;
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return JsonKind.NUMBER;
      case VALUE_TRUE:
      case VALUE_FALSE:
        return JsonKind.BOOL;
      case VALUE_NULL:
        return JsonKind.NULL;
      default:
        return JsonKind.MISSING;
    }
  }

  /** Bytes that Go's decoder would not turn into a call; the connection must be dropped. */
  static final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
      super(message);
    }
  }
}
