package dev.sandboxmetrics.cli;

/**
 * Go's {@code strconv.Quote} ({@code fmt}'s {@code %q}), for comment lines that must read exactly as
 * runsc's, such as the filter suffix of the export header.
 */
final class GoQuote {
  private GoQuote() {}

  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      switch (cp) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case 0x07 -> b.append("\\a");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case 0x0b -> b.append("\\v");
        default -> {
          if (cp < 0x20 || cp == 0x7f) {
            b.append(String.format("\\x%02x", cp));
          } else if (cp < 0x7f || isPrintable(cp)) {
            b.appendCodePoint(cp);
          } else if (Character.isSurrogate((char) cp) && cp <= 0xffff) {
            b.append("\\ufffd"); // A lone surrogate is not valid UTF-8; Go would print the replacement.
          } else if (cp <= 0xffff) {
            b.append(String.format("\\u%04x", cp));
          } else {
            b.append(String.format("\\U%08x", cp));
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /** Close to Go's {@code unicode.IsPrint}: letters, marks, numbers, punctuation, symbols, ASCII space. */
  private static boolean isPrintable(int cp) {
    return switch (Character.getType(cp)) {
      case Character.UNASSIGNED, Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE,
          Character.SURROGATE, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
          Character.SPACE_SEPARATOR -> false;
      default -> true;
    };
  }
}
