package dev.sandboxmetrics.snapshot.text;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * A growable byte buffer that knows the pieces of the Prometheus text format: UTF-8 with the format's
 * escapes, and numbers as runsc prints them. {@link PrometheusTextWriter} renders into one of these and
 * hands full chunks to the output stream, so no line ever becomes a {@code String}.
 *
 * <p>Each method reserves its worst case once and then writes without further bounds checks: a UTF-16
 * char takes at most 3 bytes in UTF-8 or escaped, a surrogate pair 4.
 */
final class ExpositionBuffer {
  /** Label values: backslash, double quote and newline escaped. */
  static final int LABEL_VALUE = 0;
  /** HELP text: backslash and newline escaped; quotes stay. */
  static final int HELP = 1;
  /** Comment text: written as it is. */
  static final int RAW = 2;

  private byte[] bytes;
  private int size;

  ExpositionBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  int size() {
    return size;
  }

  /** The length of the backing array. */
  int capacity() {
    return bytes.length;
  }

  void reset() {
    size = 0;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(bytes, size);
  }

  void writeTo(OutputStream out) throws IOException {
    out.write(bytes, 0, size);
  }

  void put(char asciiChar) {
    reserve(1);
    bytes[size++] = (byte) asciiChar;
  }

  void put(byte[] b) {
    reserve(b.length);
    System.arraycopy(b, 0, bytes, size, b.length);
    size += b.length;
  }

  /** The backing array; valid up to {@link #size()} until the next write. */
  byte[] array() {
    return bytes;
  }

  /**
   * For the hot path that writes a whole line at once: makes room for {@code length} more bytes and
   * returns the array to write them into from {@link #size()} on; {@link #setSize} then takes them in.
   */
  byte[] room(int length) {
    reserve(length);
    return bytes;
  }

  void setSize(int newSize) {
    size = newSize;
  }

  /** For text known to be ASCII: validated names, fixed words. */
  void putAscii(String s) {
    int n = s.length();
    reserve(n);
    byte[] b = bytes;
    int p = size;
    for (int i = 0; i < n; i++) {
      b[p++] = (byte) s.charAt(i);
    }
    size = p;
  }

  void putLong(long v) {
    reserve(PrometheusNumbers.MAX_LENGTH);
    size = PrometheusNumbers.writeLong(bytes, size, v);
  }

  /** Writes {@code s} as UTF-8 with the escapes of {@code mode}; an unpaired surrogate becomes U+FFFD. */
  void putEscaped(String s, int mode) {
    int n = s.length();
    reserve(3L * n);
    byte[] b = bytes;
    int p = size;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        if (mode != RAW && (c == '\\' || c == '\n' || (c == '"' && mode == LABEL_VALUE))) {
          b[p++] = '\\';
          b[p++] = (byte) (c == '\n' ? 'n' : c);
        } else {
          b[p++] = (byte) c;
        }
      } else if (c < 0x800) {
        b[p++] = (byte) (0xc0 | (c >> 6));
        b[p++] = (byte) (0x80 | (c & 0x3f));
      } else if (!Character.isSurrogate(c)) {
        b[p++] = (byte) (0xe0 | (c >> 12));
        b[p++] = (byte) (0x80 | ((c >> 6) & 0x3f));
        b[p++] = (byte) (0x80 | (c & 0x3f));
      } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        b[p++] = (byte) (0xf0 | (cp >> 18));
        b[p++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
        b[p++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
        b[p++] = (byte) (0x80 | (cp & 0x3f));
      } else {
        b[p++] = (byte) 0xef;
        b[p++] = (byte) 0xbf;
        b[p++] = (byte) 0xbd;
      }
    }
    size = p;
  }

  private void reserve(long extra) {
    // The test alone, so that C1 inlines it into every put (it inlines up to 35 bytes of bytecode).
    if (size + extra > bytes.length) {
      grow(extra);
    }
  }

  private void grow(long extra) {
    long needed = size + extra;
    if (needed > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("exposition chunk larger than 2 GB");
    }
    bytes = Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(needed, 2L * bytes.length)));
  }
}
