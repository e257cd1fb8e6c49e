package dev.sandboxmetrics.snapshot.json;

/**
 * Finds where one top-level JSON value ends in a byte stream that arrives in pieces, without parsing it:
 * uRPC has no length prefix, so the control client reading a reply must know when the reply is complete
 * before it decodes it with {@link RunscJson}. Tracks strings, escapes and nesting only; whatever else is
 * wrong with the bytes is for the decoder to say.
 *
 * <p>Works on bytes: in UTF-8 every byte of a multi-byte character is 0x80 or above, so it can never be
 * mistaken for a quote, a backslash or a bracket, and a value may be split at any byte. The top-level
 * value must be an object (uRPC replies are). Nesting deeper than the limit is refused here already, so a
 * hostile peer cannot make the client buffer an endless {@code [[[[...}.
 *
 * <p>Not thread-safe: one framer per connection.
 */
public final class JsonValueFramer {
  /** The default depth limit, the same the decoder applies. */
  public static final int DEFAULT_MAX_DEPTH = RunscJsonReader.MAX_DEPTH;

  private static final int BEFORE = 0;
  private static final int IN_VALUE = 1;
  private static final int IN_STRING = 2;
  private static final int IN_ESCAPE = 3;
  private static final int DONE = 4;

  private final int maxDepth;
  /** Per open level, whether it is an array (true) or an object: to catch {@code {]}} early. */
  private final boolean[] isArray;
  private int state = BEFORE;
  private int depth;
  private long consumed;

  public JsonValueFramer() {
    this(DEFAULT_MAX_DEPTH);
  }

  public JsonValueFramer(int maxDepth) {
    if (maxDepth < 1) {
      throw new IllegalArgumentException("maxDepth must be at least 1");
    }
    this.maxDepth = maxDepth;
    this.isArray = new boolean[maxDepth + 1];
  }

  /**
   * Feeds the next bytes. Returns the index in {@code buf} just past the end of the value when the value is
   * complete within these bytes, or -1 when more bytes are needed. Bytes after the end are not looked at.
   *
   * @throws RunscJsonException when the bytes cannot start or continue a JSON object (e.g. the value is
   *     not an object, brackets do not match, or nesting is deeper than allowed)
   * @throws IllegalStateException when called again after a complete value without {@link #reset()}
   */
  public int feed(byte[] buf, int off, int len) throws RunscJsonException {
    if (state == DONE) {
      throw new IllegalStateException("value already complete; reset() before the next one");
    }
    int end = off + len;
    for (int i = off; i < end; i++) {
      byte b = buf[i];
      switch (state) {
        case BEFORE:
          if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
            break;
          }
          if (b != '{') {
            throw new RunscJsonException(
                "expected a JSON object, got " + describe(b) + " at byte " + (consumed + i - off));
          }
          state = IN_VALUE;
          depth = 1;
          isArray[1] = false;
          break;
        case IN_VALUE:
          if (b == '"') {
            state = IN_STRING;
          } else if (b == '{' || b == '[') {
            if (depth == maxDepth) {
              throw new RunscJsonException(
                  "JSON nested deeper than " + maxDepth + " levels at byte " + (consumed + i - off));
            }
            depth++;
            isArray[depth] = b == '[';
          } else if (b == '}' || b == ']') {
            if (isArray[depth] != (b == ']')) {
              throw new RunscJsonException(
                  "mismatched '" + (char) b + "' at byte " + (consumed + i - off));
            }
            depth--;
            if (depth == 0) {
              state = DONE;
              consumed += i + 1 - off;
              return i + 1;
            }
          }
          break;
        case IN_STRING:
          if (b == '\\') {
            state = IN_ESCAPE;
          } else if (b == '"') {
            state = IN_VALUE;
          }
          break;
        case IN_ESCAPE:
          // The escaped character, whatever it is; the hex digits of a u-escape need no care.
          state = IN_STRING;
          break;
        default:
          throw new IllegalStateException("state " + state);
      }
    }
    consumed += len;
    return -1;
  }

  /** True once a value has been seen to start (its first '{' arrived). */
  public boolean started() {
    return state != BEFORE;
  }

  /** Bytes fed so far for this value, up to its end once complete. */
  public long consumed() {
    return consumed;
  }

  /** Ready for the next value. */
  public void reset() {
    state = BEFORE;
    depth = 0;
    consumed = 0;
  }

  private static String describe(byte b) {
    if (b >= 0x21 && b < 0x7f) {
      return "'" + (char) b + "'";
    }
    return String.format("byte 0x%02x", b & 0xff);
  }
}
