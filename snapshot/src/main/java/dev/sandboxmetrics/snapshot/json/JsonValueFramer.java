package dev.sandboxmetrics.snapshot.json;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

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
 * <p>Hand-written rather than Jackson's non-blocking parser ({@code JsonFactory.createNonBlockingByteArrayParser},
 * which issue 14 asked to use unless it is slower): it is slower. bench/run-jmh's {@code frame} against
 * {@code frameJackson} (bench's {@code JacksonFramer}: the same replies in the same 16 KiB reads, the
 * decoder's limits), three runs of 4 forks of 5 one-second iterations each, JDK 17, load average 18-35 on
 * 2 cores; CPU time per operation, each run's score +- its 99.9% error (wall time, which that load
 * inflates more, showed the same order):
 * <pre>
 *   100 sandboxes: this 2.75 +- 0.12, 2.87 +- 0.12, 3.07 +- 0.10 ms, no allocation;
 *                  Jackson 6.39 +- 1.27, 10.7 +- 6.7, 9.08 +- 2.46 ms, 99 KB allocated
 *    10 sandboxes: this 0.277 +- 0.008, 0.298 +- 0.015, 0.312 +- 0.013 ms;
 *                  Jackson 0.543 +- 0.063, 0.623 +- 0.078, 0.616 +- 0.073 ms
 * </pre>
 * Jackson tokenizes every name, number and string (decoding them into its text buffer) where this only
 * looks for quotes, backslashes and brackets, eight bytes at a time, and a Jackson parser cannot be reset,
 * so each reply also pays for a new one.
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
    // The hot loop of every scrape: each reply's bytes pass here once, on the event loop. State and depth
    // live in locals, and the bytes that cannot change the state (most of a reply) are skipped eight at a
    // time.
    int end = off + len;
    int st = state;
    int d = depth;
    int i = off;
    while (i < end) {
      if (st == IN_STRING) {
        i = skipStringContent(buf, i, end);
        if (i == end) {
          break;
        }
        st = buf[i] == '"' ? IN_VALUE : IN_ESCAPE;
      } else if (st == IN_VALUE) {
        i = skipToStructural(buf, i, end);
        if (i == end) {
          break;
        }
        byte b = buf[i];
        if (b == '"') {
          st = IN_STRING;
        } else if (b == '{' || b == '[') {
          if (d == maxDepth) {
            throw new RunscJsonException(
                "JSON nested deeper than " + maxDepth + " levels at byte " + (consumed + i - off));
          }
          d++;
          isArray[d] = b == '[';
        } else {
          if (isArray[d] != (b == ']')) {
            throw new RunscJsonException("mismatched '" + (char) b + "' at byte " + (consumed + i - off));
          }
          if (--d == 0) {
            state = DONE;
            depth = 0;
            consumed += i + 1 - off;
            return i + 1;
          }
        }
      } else if (st == IN_ESCAPE) {
        // The escaped character, whatever it is; the hex digits of a u-escape need no care.
        st = IN_STRING;
      } else if (st == BEFORE) {
        byte b = buf[i];
        if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
          if (b != '{') {
            throw new RunscJsonException(
                "expected a JSON object, got " + describe(b) + " at byte " + (consumed + i - off));
          }
          st = IN_VALUE;
          d = 1;
          isArray[1] = false;
        }
      } else {
        throw new IllegalStateException("state " + st);
      }
      i++;
    }
    state = st;
    depth = d;
    consumed += len;
    return -1;
  }

  // Eight bytes at a time: a word's bytes are tested with the classic "has a zero byte" trick on the word
  // XORed with the byte looked for. Its lowest flag is exact (flags above a zero byte may be spurious, which
  // does not matter here: only the first one is used).
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;
  private static final long QUOTES = 0x2222222222222222L;
  private static final long BACKSLASHES = 0x5c5c5c5c5c5c5c5cL;
  /** OR-ing 0x20 maps '[' to '{' and ']' to '}', and no other byte to either. */
  private static final long CASE_BITS = 0x2020202020202020L;
  private static final long OPENS = 0x7b7b7b7b7b7b7b7bL;
  private static final long CLOSES = 0x7d7d7d7d7d7d7d7dL;

  private static long zeroBytes(long v) {
    return (v - ONES) & ~v & HIGHS;
  }

  /** The index of the first '"' or '\\' in {@code b[i, end)}, or {@code end}. */
  private static int skipStringContent(byte[] b, int i, int end) {
    for (; i + 8 <= end; i += 8) {
      long w = (long) LONGS.get(b, i);
      long found = zeroBytes(w ^ QUOTES) | zeroBytes(w ^ BACKSLASHES);
      if (found != 0) {
        return i + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    while (i < end && b[i] != '"' && b[i] != '\\') {
      i++;
    }
    return i;
  }

  /** The index of the first '"', '{', '[', '}' or ']' in {@code b[i, end)}, or {@code end}. */
  private static int skipToStructural(byte[] b, int i, int end) {
    for (; i + 8 <= end; i += 8) {
      long w = (long) LONGS.get(b, i);
      long folded = w | CASE_BITS;
      long found = zeroBytes(w ^ QUOTES) | zeroBytes(folded ^ OPENS) | zeroBytes(folded ^ CLOSES);
      if (found != 0) {
        return i + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    for (; i < end; i++) {
      byte c = b[i];
      if (c == '"' || c == '{' || c == '[' || c == '}' || c == ']') {
        break;
      }
    }
    return i;
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
