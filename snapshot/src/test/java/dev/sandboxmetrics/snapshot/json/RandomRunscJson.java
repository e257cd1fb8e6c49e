package dev.sandboxmetrics.snapshot.json;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

/**
 * Random snapshot and Export-reply documents as text, for the differential test of the two decoders. Plain
 * documents use everything a runsc (or our simulator) may write: any member order, whitespace, unknown
 * members, nulls, zero as {@code {}}, every kind of number and string, escapes, non-ASCII text. Unusual
 * documents add, here and there, what only other producers or broken sandboxes write: escaped member names,
 * labels out of order or twice, numbers beyond 64 bits or with leading zeros, deep nesting, invalid UTF-8,
 * control characters, comments, a byte-order mark.
 */
final class RandomRunscJson {
  private static final String[] METRIC_NAMES = {
    "fs_opens", "fs_reads", "net_packets", "lat_ns", "gauge_a", "gauge_b", "a", "x_y_z_total", "m\u00e9trique",
    "name with \"quotes\"", "tab\there", "",
  };
  private static final String[] HELPS = {
    "", "Number of file opens.", "Help with \\ backslash", "Line\nbreak", "Unicode \u4e2d\u6587 \ud83d\ude00",
    "<html> & stuff", "Synthetic plain counter 0.",
  };
  private static final String[] LABEL_NAMES = {"op", "proto", "result", "zone", "le", "a", "b", "\u00fcber", ""};
  private static final String[] LABEL_VALUES = {
    "tcp", "udp", "ok", "err", "", "with space", "q\"uote", "back\\slash", "new\nline", "\u00e9", "\ud83d\ude00",
    "ctl\u0001", "slash/",
  };
  private static final String[] WHENS = {
    "2024-01-02T03:04:05.678Z", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789Z",
    "2024-01-02T03:04:05.1234567891Z", "2024-01-02T04:04:05+01:00", "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z", "2024-02-29T23:59:59.9-00:30",
  };
  private static final String[] BAD_WHENS = {"2024-02-30T03:04:05Z", "2024-01-02 03:04:05Z", "", "yesterday"};

  private final Random r;
  private final boolean unusual;
  /** Go's own layout: no whitespace, members in struct order; the decoder's fastest path. */
  private final boolean goLayout;
  private final StringBuilder sb = new StringBuilder();

  RandomRunscJson(Random random, boolean unusual) {
    this.r = random;
    this.unusual = unusual;
    this.goLayout = random.nextBoolean();
  }

  String snapshot() {
    sb.setLength(0);
    if (rare()) {
      sb.append('\ufeff');
    }
    ws();
    writeSnapshot();
    ws();
    return sb.toString();
  }

  String reply() {
    sb.setLength(0);
    ws();
    List<Runnable> members = new ArrayList<>();
    boolean success = r.nextInt(5) != 0;
    members.add(() -> {
      name("success");
      sb.append(success);
    });
    if (r.nextBoolean()) {
      members.add(() -> {
        name("err");
        string(success ? "" : "sandbox says no: \"" + pick(LABEL_VALUES) + "\"");
      });
    }
    if (r.nextInt(10) != 0) {
      members.add(() -> {
        name("result");
        if (r.nextInt(10) == 0) {
          sb.append("null");
          return;
        }
        object(() -> {
          List<Runnable> inner = new ArrayList<>();
          inner.add(() -> {
            name("snapshot");
            if (r.nextInt(10) == 0) {
              sb.append("null");
            } else {
              writeSnapshot();
            }
          });
          if (r.nextInt(5) == 0) {
            inner.add(this::unknownMember);
          }
          return inner;
        });
      });
    }
    if (r.nextInt(5) == 0) {
      members.add(this::unknownMember);
    }
    writeMembers(members, r.nextInt(4) == 0);
    ws();
    return sb.toString();
  }

  private void writeSnapshot() {
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      members.add(() -> {
        name("when");
        string(rare() ? pick(BAD_WHENS) : pick(WHENS));
      });
      if (r.nextInt(10) != 0) {
        members.add(() -> {
          name("data");
          if (r.nextInt(20) == 0) {
            sb.append("null");
            return;
          }
          int n = r.nextInt(12);
          array(n, this::dataPoint);
        });
      }
      if (r.nextInt(8) == 0) {
        members.add(this::unknownMember);
      }
      return members;
    });
  }

  private void dataPoint() {
    if (rare()) {
      sb.append("null");
      return;
    }
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      if (!rare()) {
        members.add(() -> {
          name("metric");
          metric();
        });
      }
      if (r.nextInt(3) == 0) {
        members.add(() -> {
          name("labels");
          labels();
        });
      }
      if (r.nextInt(10) == 0) {
        members.add(() -> {
          name("external_labels");
          labels();
        });
      }
      int kind = r.nextInt(10);
      if (kind < 6) {
        members.add(() -> {
          name("val");
          if (r.nextInt(15) == 0) {
            sb.append("null");
          } else {
            number();
          }
        });
      } else if (kind < 9) {
        members.add(() -> {
          name("histogram");
          if (r.nextInt(15) == 0) {
            sb.append("null");
          } else {
            histogram();
          }
        });
      }
      if (r.nextInt(10) == 0) {
        members.add(this::unknownMember);
      }
      return members;
    });
  }

  private void metric() {
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      if (!rare()) {
        members.add(() -> {
          name("name");
          string(pick(METRIC_NAMES));
        });
      }
      if (r.nextInt(6) != 0) {
        members.add(() -> {
          name("type");
          sb.append(rare() ? r.nextInt(7) - 1 : r.nextInt(4));
        });
      }
      if (r.nextInt(6) != 0) {
        members.add(() -> {
          name("help");
          string(pick(HELPS));
        });
      }
      if (r.nextInt(20) == 0) {
        members.add(this::unknownMember);
      }
      return members;
    });
  }

  private void labels() {
    if (r.nextInt(10) == 0) {
      sb.append("null");
      return;
    }
    TreeMap<String, String> sorted = new TreeMap<>();
    int n = r.nextInt(4);
    for (int i = 0; i < n; i++) {
      sorted.put(pick(LABEL_NAMES), pick(LABEL_VALUES));
    }
    List<String> keys = new ArrayList<>(sorted.keySet());
    if (rare()) {
      Collections.shuffle(keys, r);
    }
    if (rare() && !keys.isEmpty()) {
      keys.add(keys.get(0));
    }
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      for (String k : keys) {
        members.add(() -> {
          name(k);
          string(sorted.get(k));
        });
      }
      return members;
    }, false);
  }

  private void histogram() {
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      for (String member : new String[] {"total", "min", "max", "ssd"}) {
        if (r.nextInt(8) != 0) {
          members.add(() -> {
            name(member);
            number();
          });
        }
      }
      if (r.nextInt(8) != 0) {
        members.add(() -> {
          name("buckets");
          if (r.nextInt(15) == 0) {
            sb.append("null");
            return;
          }
          array(r.nextInt(6), this::bucket);
        });
      }
      if (r.nextInt(15) == 0) {
        members.add(this::unknownMember);
      }
      return members;
    });
  }

  private void bucket() {
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      if (r.nextInt(6) != 0) {
        members.add(() -> {
          name("le");
          number();
        });
      }
      if (r.nextInt(6) != 0) {
        members.add(() -> {
          name("n");
          long n = rare() ? -1 - r.nextInt(5) : r.nextInt(5) == 0 ? Long.MAX_VALUE : r.nextInt(100_000);
          sb.append(n);
        });
      }
      return members;
    });
  }

  /** A runsc number object: int, float, both, neither, or something else now and then. */
  private void number() {
    object(() -> {
      List<Runnable> members = new ArrayList<>();
      int kind = r.nextInt(8);
      if (kind <= 2 || kind == 6) {
        members.add(() -> {
          name("int");
          sb.append(integerText());
        });
      }
      if ((kind >= 3 && kind <= 5) || kind == 6) {
        members.add(() -> {
          name("float");
          sb.append(floatText());
        });
      }
      if (r.nextInt(30) == 0) {
        members.add(() -> {
          name("int");
          sb.append(integerText());
        });
      }
      if (r.nextInt(30) == 0) {
        members.add(this::unknownMember);
      }
      return members;
    });
  }

  private String integerText() {
    if (rare()) {
      String[] odd = {
        "9223372036854775808", "-9223372036854775809", "18446744073709551615", "01", "-01", "1.5", "1e3", "NaN",
        "Infinity", "\"5\"", "-", "+1", "1" + "0".repeat(30), "0x10", "true", "null",
      };
      return pick(odd);
    }
    switch (r.nextInt(9)) {
      case 0:
        return "0";
      case 1:
        return "-0";
      case 2:
        return Long.toString(r.nextInt(256));
      case 3:
        return Long.toString(Long.MAX_VALUE);
      case 4:
        return Long.toString(Long.MIN_VALUE);
      case 5:
        return Long.toString(r.nextLong());
      case 6:
        return Long.toString(-r.nextInt(1000));
      case 7:
        return Long.toString(1_000_000_000_000_000_000L + r.nextInt(1000));
      default:
        return Long.toString(r.nextInt(100_000_000));
    }
  }

  private String floatText() {
    if (rare()) {
      String[] odd = {
        "1e400", "-1e400", "1.", ".5", "01.5", "1.5e", "1e+", "-INF", "+Infinity", "\"+Infinity\"", "\"inf\"",
        "\"\\u004eaN\"", "nan", "Infinity1", "1" + "0".repeat(120) + ".5", "1" + "0".repeat(600),
        "123456789012345678901234567890", "true", "{}",
      };
      return pick(odd);
    }
    switch (r.nextInt(16)) {
      case 0:
        return "NaN";
      case 1:
        return "Infinity";
      case 2:
        return "-Infinity";
      case 3:
        return pick(new String[] {"\"+Inf\"", "\"-Inf\"", "\"Inf\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\""});
      case 4:
        return Double.toString(r.nextDouble() * Math.pow(10, r.nextInt(40) - 20));
      case 5:
        return Double.toString(Double.longBitsToDouble(r.nextLong() & 0x7fefffffffffffffL));
      case 6:
        return String.format("%.3f", r.nextGaussian() * 1000);
      case 7:
        return (r.nextBoolean() ? "-" : "") + r.nextInt(1000) + "e" + (r.nextInt(60) - 30);
      case 8:
        return r.nextInt(1000) + "E+" + r.nextInt(5);
      case 9:
        return "0.000001";
      case 10:
        return "-0.0";
      case 11:
        return "1e-400";
      case 12:
        return Long.toString(r.nextLong());
      case 13:
        return "0.1000000000000000055511151231257827";
      case 14:
        return "9007199254740993";
      default:
        return r.nextInt(1000) + "." + r.nextInt(1000);
    }
  }

  /** A member no decoder knows, with a random value, sometimes nested deeply. */
  private void unknownMember() {
    name(pick(new String[] {"future", "x", "\u00e9t\u00e9", "data_v2"}));
    value(rare() ? 10 + r.nextInt(70) : r.nextInt(4));
  }

  private void value(int depth) {
    if (depth <= 0) {
      switch (r.nextInt(7)) {
        case 0:
          string(pick(LABEL_VALUES));
          return;
        case 1:
          sb.append(floatText());
          return;
        case 2:
          sb.append(integerText());
          return;
        case 3:
          sb.append(pick(new String[] {"true", "false", "null"}));
          return;
        case 4:
          sb.append("{}");
          return;
        case 5:
          sb.append("[]");
          return;
        default:
          string("");
          return;
      }
    }
    if (r.nextBoolean()) {
      // Wide only near the leaves, so that deep values stay small.
      array(depth > 3 ? 1 : 1 + r.nextInt(2), () -> value(depth - 1));
    } else {
      object(() -> List.of(() -> {
        name("k");
        value(depth - 1);
      }));
    }
  }

  // ---- syntax ----

  private interface Members {
    List<Runnable> get();
  }

  private void object(Members members) {
    object(members, true);
  }

  private void object(Members members, boolean shuffle) {
    List<Runnable> list = members.get();
    writeMembers(list, shuffle && r.nextInt(4) == 0);
  }

  private void writeMembers(List<Runnable> list, boolean shuffle) {
    if (shuffle && !goLayout) {
      Collections.shuffle(list, r);
    }
    sb.append('{');
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        ws();
        sb.append(',');
      }
      ws();
      list.get(i).run();
      ws();
    }
    if (rare() && !list.isEmpty()) {
      sb.append(',');
    }
    sb.append('}');
  }

  private void array(int n, Runnable element) {
    sb.append('[');
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        sb.append(',');
      }
      ws();
      element.run();
      ws();
    }
    sb.append(']');
  }

  private void name(String name) {
    if (rare() && !name.isEmpty()) {
      // An escaped first letter: the same name to a JSON reader.
      sb.append("\"\\u").append(String.format("%04x", (int) name.charAt(0)));
      escaped(name.substring(1));
      sb.append('"');
    } else {
      string(name);
    }
    ws();
    sb.append(':');
    ws();
  }

  private void string(String s) {
    sb.append('"');
    escaped(s);
    sb.append('"');
  }

  private void escaped(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (rare()) {
        String[] odd = {"\u0001", "\\x", "\\u12", "\u0080", "\u00c0\u0080", "\udfff", "\t", "\\'"};
        sb.append(pick(odd));
      }
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(pick(new String[] {String.format("\\u%04x", (int) c), String.format("\\u%04X", (int) c),
            c == '\n' ? "\\n" : c == '\t' ? "\\t" : String.format("\\u%04x", (int) c)}));
      } else if (c == '/' && r.nextBoolean()) {
        sb.append("\\/");
      } else if (c > 0x7e && r.nextInt(4) == 0) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
  }

  private void ws() {
    if (!goLayout && r.nextInt(8) == 0) {
      sb.append(pick(new String[] {" ", "\n", "\t", "\r\n  ", "  "}));
    }
    if (rare()) {
      sb.append(pick(new String[] {"/* c */", "\u000b", "\u00a0", "#"}));
    }
  }

  /** True now and then in unusual documents, never in plain ones. */
  private boolean rare() {
    return unusual && r.nextInt(150) == 0;
  }

  private String pick(String[] choices) {
    return choices[r.nextInt(choices.length)];
  }
}
