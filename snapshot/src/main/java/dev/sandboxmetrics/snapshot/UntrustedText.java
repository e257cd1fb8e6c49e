package dev.sandboxmetrics.snapshot;

import dev.sandboxmetrics.snapshot.golang.GoStrings;

/**
 * Makes text that a sandbox controls (its error messages, metric names, label values, IDs derived from it)
 * safe to put into a log line or an error message: at most {@link #MAX_CHARS} characters, with how long the
 * original was, and control characters escaped, so that a sandbox can neither write a 1 MB log line nor
 * forge a second one with a newline (or hide text with terminal escapes or bidirectional overrides). The one
 * place for that: the collector, both control-socket clients, the verifier's messages and the server's logs
 * use it.
 */
public final class UntrustedText {
  /** The most characters of untrusted text that a message quotes. */
  public static final int MAX_CHARS = 200;

  private UntrustedText() {}

  /** {@code s} bounded to {@link #MAX_CHARS} and escaped; "" for null. */
  public static String forLog(String s) {
    return forLog(s, MAX_CHARS);
  }

  /**
   * {@code s} bounded to {@code max} characters of the original, with control characters (C0, DEL, C1, the
   * Unicode line and paragraph separators, format characters such as bidi overrides) and the backslash
   * escaped ({@code \n}, {@code \t}, {@code \x1b}, {@code \u202e}), then " ... (N characters)" if it was cut.
   */
  public static String forLog(String s, int max) {
    if (s == null) {
      return "";
    }
    int end = Math.min(s.length(), max);
    if (end < s.length() && end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--; // do not split a pair
    }
    if (end == s.length() && isClean(s)) {
      return s;
    }
    StringBuilder b = new StringBuilder(end + 32);
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\\' -> b.append("\\\\");
        default -> {
          if (needsEscape(c)) {
            b.append(c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    if (end < s.length()) {
      b.append(" ... (").append(s.length()).append(" characters)");
    }
    return b.toString();
  }

  /** Go's {@code %q} of {@code s} bounded to {@link #MAX_CHARS} (the quoting escapes control characters). */
  public static String quote(String s) {
    if (s.length() <= MAX_CHARS) {
      return GoStrings.quote(s);
    }
    int end = Character.isHighSurrogate(s.charAt(MAX_CHARS - 1)) ? MAX_CHARS - 1 : MAX_CHARS;
    return GoStrings.quote(s.substring(0, end)) + " ... (" + s.length() + " characters)";
  }

  private static boolean isClean(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' || needsEscape(c)) {
        return false;
      }
    }
    return true;
  }

  private static boolean needsEscape(char c) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
    if (c < 0x80) {
      return false;
    }
    if (c <= 0x9f || c == '\u2028' || c == '\u2029') {
      return true;
    }
    int type = Character.getType(c);
    return type == Character.FORMAT || type == Character.CONTROL;
  }
}
