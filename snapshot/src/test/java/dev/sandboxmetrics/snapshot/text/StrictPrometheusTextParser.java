package dev.sandboxmetrics.snapshot.text;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A deliberately strict reader of the Prometheus text format 0.0.4, for tests: it accepts exactly what a
 * correct writer in runsc's style produces and rejects everything else with the line number, so that a
 * round trip through it proves the output is well-formed, not just that it contains some expected text.
 * Public for the other modules' tests (the snapshot module's test jar), e.g. the bench module's check that
 * its workload renders completely.
 *
 * <p>Checks: valid UTF-8 ending in a newline; every line blank, a comment, a HELP or TYPE line, or a sample;
 * names and label names by the format's grammar; only the escapes the format defines ({@code \\ \" \n} in
 * label values, {@code \\ \n} in HELP); no label twice in a sample; HELP and TYPE at most once per name and
 * before that name's first sample; every sample under a TYPE; all samples of a family in one group; values
 * in runsc's number forms; integer timestamps.
 */
public final class StrictPrometheusTextParser {
  private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");
  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Pattern VALUE =
      Pattern.compile("[+-]Inf|NaN|-?(0|[1-9][0-9]*)|-?(0|[1-9][0-9]*)\\.[0-9]{6}");
  private static final Pattern TIMESTAMP = Pattern.compile("-?(0|[1-9][0-9]*)");
  private static final String[] HISTOGRAM_SUFFIXES = {"_bucket", "_sum", "_count", "_min", "_max", "_ssd"};

  public record Sample(String name, String family, List<Map.Entry<String, String>> labels, String value, long timestamp) {}

  public record Family(String name, String help, String type) {}

  public record Parsed(List<Sample> samples, Map<String, Family> families) {}

  public static final class ParseException extends RuntimeException {
    ParseException(int line, String message, String text) {
      super("line " + line + ": " + message + ": " + text);
    }
  }

  private StrictPrometheusTextParser() {}

  public static Parsed parse(byte[] utf8) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8)).toString();
    } catch (CharacterCodingException e) {
      throw new ParseException(0, "not valid UTF-8", e.toString());
    }
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new ParseException(0, "does not end with a newline", "");
    }
    String[] lines = text.isEmpty() ? new String[0] : text.substring(0, text.length() - 1).split("\n", -1);
    Map<String, String> helps = new HashMap<>();
    Map<String, String> types = new HashMap<>();
    Set<String> familiesWithSamples = new HashSet<>();
    List<Sample> samples = new ArrayList<>();
    String currentFamily = null;
    for (int i = 0; i < lines.length; i++) {
      int lineNo = i + 1;
      String line = lines[i];
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        boolean help = line.startsWith("# HELP ");
        String rest = line.substring(7);
        int space = rest.indexOf(' ');
        if (space < 0) {
          throw new ParseException(lineNo, "HELP/TYPE without text", line);
        }
        String name = rest.substring(0, space);
        if (!isMetricName(name)) {
          throw new ParseException(lineNo, "bad metric name", line);
        }
        if (familiesWithSamples.contains(name)) {
          throw new ParseException(lineNo, "HELP/TYPE after the family's samples", line);
        }
        Map<String, String> target = help ? helps : types;
        if (target.containsKey(name)) {
          throw new ParseException(lineNo, (help ? "HELP" : "TYPE") + " given twice", line);
        }
        String value = rest.substring(space + 1);
        if (help) {
          target.put(name, unescape(value, false, lineNo, line));
        } else {
          if (!TYPES.contains(value)) {
            throw new ParseException(lineNo, "unknown type", line);
          }
          target.put(name, value);
        }
        continue;
      }
      if (line.startsWith("#")) {
        continue;
      }
      Sample s = parseSample(line, lineNo, types);
      if (!s.family().equals(currentFamily)) {
        if (!familiesWithSamples.add(s.family())) {
          throw new ParseException(lineNo, "samples of family " + s.family() + " are not in one group", line);
        }
        currentFamily = s.family();
      }
      samples.add(s);
    }
    Map<String, Family> families = new LinkedHashMap<>();
    for (Map.Entry<String, String> t : types.entrySet()) {
      families.put(t.getKey(), new Family(t.getKey(), helps.get(t.getKey()), t.getValue()));
    }
    for (String name : helps.keySet()) {
      if (!types.containsKey(name)) {
        throw new ParseException(0, "HELP without TYPE (our writer always writes TYPE)", name);
      }
    }
    return new Parsed(samples, families);
  }

  private static Sample parseSample(String line, int lineNo, Map<String, String> types) {
    int p = 0;
    while (p < line.length() && line.charAt(p) != '{' && line.charAt(p) != ' ') {
      p++;
    }
    String name = line.substring(0, p);
    if (!isMetricName(name)) {
      throw new ParseException(lineNo, "bad metric name", line);
    }
    String family = familyOf(name, types);
    if (family == null) {
      throw new ParseException(lineNo, "sample without a TYPE line before it", line);
    }
    List<Map.Entry<String, String>> labels = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    if (p < line.length() && line.charAt(p) == '{') {
      p++;
      while (true) {
        int eq = line.indexOf('=', p);
        if (eq < 0) {
          throw new ParseException(lineNo, "label without '='", line);
        }
        String label = line.substring(p, eq);
        if (!isLabelName(label)) {
          throw new ParseException(lineNo, "bad label name '" + label + "'", line);
        }
        if (!seen.add(label)) {
          throw new ParseException(lineNo, "label " + label + " twice", line);
        }
        p = eq + 1;
        if (p >= line.length() || line.charAt(p) != '"') {
          throw new ParseException(lineNo, "label value not quoted", line);
        }
        p++;
        StringBuilder raw = new StringBuilder();
        while (true) {
          if (p >= line.length()) {
            throw new ParseException(lineNo, "unterminated label value", line);
          }
          char c = line.charAt(p++);
          if (c == '"') {
            break;
          }
          raw.append(c);
          if (c == '\\') {
            if (p >= line.length()) {
              throw new ParseException(lineNo, "backslash at end of line", line);
            }
            raw.append(line.charAt(p++));
          }
        }
        labels.add(Map.entry(label, unescape(raw.toString(), true, lineNo, line)));
        if (p >= line.length()) {
          throw new ParseException(lineNo, "unterminated label set", line);
        }
        char next = line.charAt(p++);
        if (next == '}') {
          break;
        }
        if (next != ',') {
          throw new ParseException(lineNo, "expected ',' or '}' after a label", line);
        }
      }
    }
    if (p >= line.length() || line.charAt(p) != ' ') {
      throw new ParseException(lineNo, "expected one space before the value", line);
    }
    String[] rest = line.substring(p + 1).split(" ", -1);
    if (rest.length != 2) {
      throw new ParseException(lineNo, "expected exactly 'value timestamp' after the labels", line);
    }
    if (!VALUE.matcher(rest[0]).matches()) {
      throw new ParseException(lineNo, "value not in runsc's number form", line);
    }
    if (!TIMESTAMP.matcher(rest[1]).matches()) {
      throw new ParseException(lineNo, "bad timestamp", line);
    }
    if (name.endsWith("_bucket") && "histogram".equals(types.get(family))
        && (labels.isEmpty() || !labels.get(labels.size() - 1).getKey().equals("le"))) {
      throw new ParseException(lineNo, "bucket without le as its last label", line);
    }
    return new Sample(name, family, labels, rest[0], Long.parseLong(rest[1]));
  }

  private static String familyOf(String name, Map<String, String> types) {
    for (String suffix : HISTOGRAM_SUFFIXES) {
      if (name.endsWith(suffix)) {
        String base = name.substring(0, name.length() - suffix.length());
        if ("histogram".equals(types.get(base))) {
          return base;
        }
      }
    }
    String type = types.get(name);
    return type == null || type.equals("histogram") ? null : name;
  }

  private static String unescape(String s, boolean labelValue, int lineNo, String line) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (++i >= s.length()) {
        throw new ParseException(lineNo, "backslash at the end", line);
      }
      char e = s.charAt(i);
      switch (e) {
        case '\\' -> out.append('\\');
        case 'n' -> out.append('\n');
        case '"' -> {
          if (!labelValue) {
            throw new ParseException(lineNo, "\\\" is not an escape in HELP", line);
          }
          out.append('"');
        }
        default -> throw new ParseException(lineNo, "unknown escape \\" + e, line);
      }
    }
    return out.toString();
  }

  static boolean isMetricName(String s) {
    return METRIC_NAME.matcher(s).matches();
  }

  static boolean isLabelName(String s) {
    return LABEL_NAME.matcher(s).matches();
  }
}
