package dev.sandboxmetrics.snapshot;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import java.util.ArrayList;
import java.util.List;

/**
 * Compiles a regular expression that came from a user or a sandbox with RE2/J, after checking that it cannot
 * be a CPU or memory bomb. RE2/J rejects single repeat counts above 1000 but, unlike Go, accepts nested ones
 * whose product is huge: {@code ((a{1000}){1000}){3}} compiles to three million instructions (seconds and
 * hundreds of MB) here, and is an error in runsc. So the expression is first parsed into a light tree (just
 * enough structure for the limits; RE2/J still decides what is valid) and checked as Go's
 * {@code regexp/syntax} parser checks it:
 * <ul>
 *   <li>repeat counts: Go's {@code repeatIsValid(re, 1000)}, the nested product of counted repeats may not
 *       exceed 1000 copies of the innermost thing ({@code invalid repeat count});
 *   <li>nesting depth at most 1000 ({@code expression nests too deeply});
 *   <li>the compiled program's estimated size (Go's {@code calcSize}) at most {@link #MAX_PROGRAM_SIZE}
 *       instructions ({@code expression too large}). Go allows 3.3 million; ours is far lower, because a
 *       filter is matched against every metric name of every sandbox at every scrape and RE2/J's matcher
 *       costs time in proportion to the program. An alternation of every metric gVisor registers is about
 *       5,000.
 * </ul>
 * Used by {@link MetricNameFilter} (the metric filter of {@code /metrics} and {@code export-metrics}) and the
 * metric server's capability filter.
 */
public final class BoundedRegex {
  /** Go's limit on counted repetition. */
  public static final int MAX_REPEAT = 1000;
  /** Go's {@code maxHeight}. */
  public static final int MAX_DEPTH = 1000;
  /** The largest program accepted, in Go's instruction count (see the class comment for why not Go's). */
  public static final int MAX_PROGRAM_SIZE = 20_000;

  private BoundedRegex() {}

  /**
   * Checks the limits, then compiles with RE2/J.
   *
   * @throws IllegalArgumentException with a one-line reason (RE2/J's, or which limit the expression exceeds)
   */
  public static Pattern compile(String expression) {
    check(expression);
    try {
      return Pattern.compile(expression);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(e.getDescription(), e);
    }
  }

  /**
   * The estimated program size of an expression that passes the limits; what {@link #compile} checks first.
   *
   * @throws IllegalArgumentException when a limit is exceeded
   */
  public static long check(String expression) {
    Parser p = new Parser(expression);
    Node root = p.alternation();
    // A ')' without a '(' ends the top level early; RE2/J reports it. Nothing after it is compiled.
    long size = root.size;
    if (size > MAX_PROGRAM_SIZE) {
      throw new IllegalArgumentException("expression too large: about " + size + " instructions, more than the "
          + MAX_PROGRAM_SIZE + " allowed");
    }
    return size;
  }

  /** A node of the light tree: a counted repeat keeps its counts and child, everything else only its size. */
  private static final class Node {
    final long size;
    final int min;
    final int max;
    final List<Node> subs;
    final boolean repeat;

    Node(long size, boolean repeat, int min, int max, List<Node> subs) {
      this.size = Math.max(1, size);
      this.repeat = repeat;
      this.min = min;
      this.max = max;
      this.subs = subs;
    }

    static Node leaf(long size) {
      return new Node(size, false, 0, 0, List.of());
    }

    static Node of(long size, Node sub) {
      return new Node(size, false, 0, 0, List.of(sub));
    }
  }

  /** Go's {@code repeatIsValid}: no more than n copies of the innermost thing. */
  private static boolean repeatIsValid(Node re, int n) {
    if (re.repeat) {
      int m = re.max;
      if (m == 0) {
        return true;
      }
      if (m < 0) {
        m = re.min;
      }
      if (m > n) {
        return false;
      }
      if (m > 0) {
        n /= m;
      }
    }
    for (Node sub : re.subs) {
      if (!repeatIsValid(sub, n)) {
        return false;
      }
    }
    return true;
  }

  /**
   * A recursive-descent reader of RE2 syntax that is lenient where RE2/J is strict: whatever it cannot make
   * sense of counts as one instruction, and RE2/J rejects it afterwards. It must never under-count a group or
   * a repeat, so it follows the rules that decide what is a group or a repeat: escapes, {@code \Q...\E},
   * character classes (where '(' and '{' are plain), and which braces form a repeat.
   */
  private static final class Parser {
    private final String s;
    private int pos;
    private int depth;

    Parser(String s) {
      this.s = s;
    }

    Node alternation() {
      List<Node> alternatives = new ArrayList<>();
      alternatives.add(concatenation());
      while (pos < s.length() && s.charAt(pos) == '|') {
        pos++;
        alternatives.add(concatenation());
      }
      if (alternatives.size() == 1) {
        return alternatives.get(0);
      }
      long size = alternatives.size() - 1;
      for (Node a : alternatives) {
        size = saturatingAdd(size, a.size);
      }
      return new Node(size, false, 0, 0, alternatives);
    }

    private Node concatenation() {
      List<Node> items = new ArrayList<>();
      long size = 0;
      while (pos < s.length() && s.charAt(pos) != '|' && s.charAt(pos) != ')') {
        Node atom = atom();
        if (atom == null) {
          continue; // a flag group such as (?i) matches nothing
        }
        atom = repeats(atom);
        items.add(atom);
        size = saturatingAdd(size, atom.size);
        if (size > MAX_PROGRAM_SIZE) {
          // Stop early: a huge literal must not cost a huge tree.
          throw new IllegalArgumentException("expression too large: more than the " + MAX_PROGRAM_SIZE
              + " instructions allowed");
        }
      }
      return new Node(size, false, 0, 0, items);
    }

    private Node atom() {
      char c = s.charAt(pos++);
      switch (c) {
        case '(':
          return group();
        case '[':
          skipClass();
          return Node.leaf(1);
        case '\\':
          return escape();
        default:
          if (Character.isHighSurrogate(c) && pos < s.length() && Character.isLowSurrogate(s.charAt(pos))) {
            pos++;
          }
          return Node.leaf(1);
      }
    }

    private Node group() {
      boolean capture = true;
      if (pos < s.length() && s.charAt(pos) == '?') {
        // (?P<name>re), (?<name>re): captures. (?flags) and (?flags:re): do not.
        if (s.startsWith("?P<", pos) || s.startsWith("?<", pos)) {
          int close = s.indexOf('>', pos);
          pos = close < 0 ? s.length() : close + 1;
        } else {
          int i = pos + 1;
          while (i < s.length() && s.charAt(i) != ')' && s.charAt(i) != ':') {
            i++;
          }
          if (i >= s.length() || s.charAt(i) == ')') {
            pos = Math.min(s.length(), i + 1);
            return null;
          }
          pos = i + 1;
          capture = false;
        }
      }
      if (++depth > MAX_DEPTH) {
        throw new IllegalArgumentException("expression nests too deeply (more than " + MAX_DEPTH + " levels)");
      }
      Node inner = alternation();
      depth--;
      if (pos < s.length() && s.charAt(pos) == ')') {
        pos++;
      }
      return capture ? Node.of(saturatingAdd(2, inner.size), inner) : inner;
    }

    /** Moves past a character class; '(' '|' '{' inside it are plain characters. */
    private void skipClass() {
      if (pos < s.length() && s.charAt(pos) == '^') {
        pos++;
      }
      if (pos < s.length() && s.charAt(pos) == ']') {
        pos++; // a leading ']' is a literal
      }
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c == ']') {
          pos++;
          return;
        }
        if (c == '[' && s.startsWith("[:", pos)) {
          int close = s.indexOf(":]", pos + 2);
          if (close >= 0) {
            pos = close + 2;
            continue;
          }
        }
        if (c == '\\') {
          pos++;
          escape();
          continue;
        }
        pos++;
      }
    }

    /** After a backslash: \Q...\E is one literal per character; \p{..} and \x{..} are one. */
    private Node escape() {
      if (pos >= s.length()) {
        return Node.leaf(1);
      }
      char c = s.charAt(pos++);
      if (c == 'Q') {
        int end = s.indexOf("\\E", pos);
        int stop = end < 0 ? s.length() : end;
        long runes = s.codePointCount(pos, stop);
        pos = end < 0 ? s.length() : end + 2;
        return Node.leaf(runes);
      }
      if ((c == 'p' || c == 'P' || c == 'x') && pos < s.length() && s.charAt(pos) == '{') {
        int close = s.indexOf('}', pos);
        pos = close < 0 ? s.length() : close + 1;
      }
      return Node.leaf(1);
    }

    private Node repeats(Node atom) {
      while (pos < s.length()) {
        char c = s.charAt(pos);
        Node next;
        if (c == '*') {
          next = Node.of(saturatingAdd(2, atom.size), atom);
          pos++;
        } else if (c == '+' || c == '?') {
          next = Node.of(saturatingAdd(1, atom.size), atom);
          pos++;
        } else if (c == '{') {
          int[] counts = counts();
          if (counts == null) {
            return atom; // not a repeat: a literal '{', read by the next atom
          }
          int min = counts[0];
          int max = counts[1];
          long size;
          if (max == -1) {
            size = min == 0 ? saturatingAdd(2, atom.size) : saturatingAdd(1, saturatingMul(min, atom.size));
          } else {
            size = saturatingAdd(saturatingMul(max, atom.size), max - min);
          }
          next = new Node(size, true, min, max, List.of(atom));
          if ((min >= 2 || max >= 2) && !repeatIsValid(next, MAX_REPEAT)) {
            throw new IllegalArgumentException("invalid repeat count: nested repetition makes more than "
                + MAX_REPEAT + " copies");
          }
        } else {
          return atom;
        }
        if (pos < s.length() && s.charAt(pos) == '?') {
          pos++; // non-greedy
        }
        atom = next;
      }
      return atom;
    }

    /** {n}, {n,} or {n,m} at pos (moving past it), as {min, max} with max -1 for none; null if not a repeat. */
    private int[] counts() {
      int i = pos + 1;
      int start = i;
      while (i < s.length() && isDigit(s.charAt(i))) {
        i++;
      }
      if (i == start || i >= s.length()) {
        return null;
      }
      int min = number(start, i);
      int max = min;
      if (s.charAt(i) == ',') {
        i++;
        int maxStart = i;
        while (i < s.length() && isDigit(s.charAt(i))) {
          i++;
        }
        max = i == maxStart ? -1 : number(maxStart, i);
      }
      if (i >= s.length() || s.charAt(i) != '}') {
        return null;
      }
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
        throw new IllegalArgumentException("invalid repeat count: " + s.substring(pos, Math.min(i + 1, pos + 24)));
      }
      pos = i + 1;
      return new int[] {min, max};
    }

    /** The decimal number s[from, to), capped just above the limit so that a long one cannot overflow. */
    private int number(int from, int to) {
      int n = 0;
      for (int i = from; i < to && n <= MAX_REPEAT; i++) {
        n = n * 10 + (s.charAt(i) - '0');
      }
      return n;
    }

    private static boolean isDigit(char c) {
      return c >= '0' && c <= '9';
    }
  }

  private static long saturatingAdd(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  private static long saturatingMul(long a, long b) {
    return a != 0 && b > Long.MAX_VALUE / a ? Long.MAX_VALUE : a * b;
  }
}
