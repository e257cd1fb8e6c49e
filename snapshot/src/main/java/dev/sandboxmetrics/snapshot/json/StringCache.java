package dev.sandboxmetrics.snapshot.json;

/**
 * A small direct-mapped cache of strings, looked up by the characters Jackson already decoded into its
 * buffer. A snapshot repeats the same metric names, help texts and label values on every scrape; reusing
 * one {@code String} per text saves the allocation and keeps the string's cached hash code, which the
 * verifier's lookups then get for free. One instance per decoding thread (see {@link RunscJsonReader}),
 * so no locking. A collision simply replaces the entry: the cache is an optimisation, never a source of
 * truth, and a hostile sandbox filling it only costs itself the speed-up.
 */
final class StringCache {
  private static final int SIZE = 1024;
  private static final int MAX_CACHED_LENGTH = 256;

  private final String[] table = new String[SIZE];

  String get(char[] chars, int off, int len) {
    if (len == 0) {
      return "";
    }
    if (len > MAX_CACHED_LENGTH) {
      return new String(chars, off, len);
    }
    int h = 0;
    for (int i = off; i < off + len; i++) {
      h = 31 * h + chars[i];
    }
    int slot = (h ^ (h >>> 16)) & (SIZE - 1);
    String s = table[slot];
    if (s != null && s.length() == len && s.hashCode() == h && sameChars(s, chars, off)) {
      return s;
    }
    s = new String(chars, off, len);
    table[slot] = s;
    return s;
  }

  private static boolean sameChars(String s, char[] chars, int off) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) != chars[off + i]) {
        return false;
      }
    }
    return true;
  }
}
