package dev.sandboxmetrics.e2e;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Just enough of a Prometheus text reader to tell, in one {@code /metrics} response, which metric families
 * exist, their types, and which of them are per-sandbox data from the sandboxes (rather than the server's
 * own meta metrics). Prometheus itself and promtool do the real parsing in these tests.
 */
final class Exposition {
  /** The suffixes of a histogram's sample names: Prometheus' three plus the three runsc adds. */
  static final List<String> HISTOGRAM_SUFFIXES = List.of("_bucket", "_sum", "_count", "_min", "_max", "_ssd");

  private final Map<String, String> typeByFamily = new TreeMap<>();
  private final Set<String> sandboxSampleNames = new TreeSet<>();
  private final Set<String> sandboxIds = new TreeSet<>();

  private Exposition() {}

  static Exposition parse(String text) {
    Exposition exposition = new Exposition();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        if (parts.length >= 4) {
          exposition.typeByFamily.put(parts[2], parts[3]);
        }
      } else if (!line.isEmpty() && !line.startsWith("#")) {
        exposition.addSample(line);
      }
    }
    return exposition;
  }

  private void addSample(String line) {
    int brace = line.indexOf('{');
    int space = line.indexOf(' ');
    if (brace < 0 || (space >= 0 && space < brace)) {
      return; // no labels: not per sandbox
    }
    String name = line.substring(0, brace);
    String sandbox = labels(line, brace).get("sandbox");
    if (sandbox != null) {
      sandboxSampleNames.add(name);
      sandboxIds.add(sandbox);
    }
  }

  /** The labels of a sample line whose label set starts at {@code brace}, with Prometheus' escapes undone. */
  static Map<String, String> labels(String line, int brace) {
    Map<String, String> labels = new LinkedHashMap<>();
    int i = brace + 1;
    while (i < line.length() && line.charAt(i) != '}') {
      int equals = line.indexOf('=', i);
      String key = line.substring(i, equals).trim();
      i = equals + 2; // past ="
      StringBuilder value = new StringBuilder();
      while (line.charAt(i) != '"') {
        char c = line.charAt(i);
        if (c == '\\') {
          char next = line.charAt(i + 1);
          value.append(next == 'n' ? '\n' : next);
          i += 2;
        } else {
          value.append(c);
          i++;
        }
      }
      labels.put(key, value.toString());
      i++; // past the closing quote
      if (i < line.length() && line.charAt(i) == ',') {
        i++;
      }
    }
    return labels;
  }

  /** Family name to its TYPE ({@code counter}, {@code gauge}, {@code histogram}, {@code untyped}). */
  Map<String, String> typeByFamily() {
    return typeByFamily;
  }

  /** The sandbox IDs that appear in a {@code sandbox} label. */
  Set<String> sandboxIds() {
    return sandboxIds;
  }

  /**
   * The families with per-sandbox samples that come from the sandboxes themselves: every family with a
   * {@code sandbox} label except the server's own, which are named {@code <prefix>meta_...}.
   */
  Set<String> sandboxFamilies(String prefix) {
    Set<String> families = new TreeSet<>();
    for (String sample : sandboxSampleNames) {
      String family = familyOf(sample);
      if (!family.startsWith(prefix + "meta_")) {
        families.add(family);
      }
    }
    return families;
  }

  /** The family a sample name belongs to: itself, or a histogram's name without the sample suffix. */
  String familyOf(String sampleName) {
    if (typeByFamily.containsKey(sampleName)) {
      return sampleName;
    }
    for (String suffix : HISTOGRAM_SUFFIXES) {
      if (sampleName.endsWith(suffix)) {
        String family = sampleName.substring(0, sampleName.length() - suffix.length());
        if ("histogram".equals(typeByFamily.get(family))) {
          return family;
        }
      }
    }
    return sampleName;
  }
}
