package dev.sandboxmetrics.snapshot.json;

/**
 * Finds where one top-level JSON value ends in a byte stream that arrives in pieces, without parsing it:
 * uRPC has no length prefix, so a client reading a reply must know when the reply is complete before it
 * decodes it. Tracks strings, escapes and nesting depth only.
 *
 * <p>TODO(codec): implementation arrives with the foundation issue.
 */
public final class JsonValueFramer {
  /**
   * Feeds the next bytes. Returns the index in {@code buf} just past the end of the value when the value is
   * complete within these bytes, or -1 when more bytes are needed.
   *
   * @throws RunscJsonException when the bytes cannot start or continue a JSON object (e.g. the value is
   *     not an object, or nesting is deeper than allowed)
   */
  public int feed(byte[] buf, int off, int len) throws RunscJsonException {
    throw new UnsupportedOperationException("not yet");
  }

  /** Ready for the next value. */
  public void reset() {
    throw new UnsupportedOperationException("not yet");
  }
}
