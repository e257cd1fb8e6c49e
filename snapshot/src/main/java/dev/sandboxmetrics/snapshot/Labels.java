package dev.sandboxmetrics.snapshot;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An immutable set of label name/value pairs, kept sorted by name so that writers can merge several sets
 * without sorting again on every line. Names are unique within one {@code Labels}.
 */
public final class Labels {
  public static final Labels EMPTY = new Labels(new String[0], new String[0]);

  private final String[] names;
  private final String[] values;

  private Labels(String[] names, String[] values) {
    this.names = names;
    this.values = values;
  }

  /** Labels from a map; the order of the map does not matter. */
  public static Labels of(Map<String, String> map) {
    if (map == null || map.isEmpty()) {
      return EMPTY;
    }
    String[] n = map.keySet().toArray(new String[0]);
    Arrays.sort(n);
    String[] v = new String[n.length];
    for (int i = 0; i < n.length; i++) {
      v[i] = Objects.requireNonNull(map.get(n[i]), () -> "label value");
    }
    return new Labels(n, v);
  }

  /** Labels from alternating names and values: {@code of("sandbox", "s1", "iteration", "x")}. */
  public static Labels of(String... namesAndValues) {
    if (namesAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("names and values must come in pairs");
    }
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      if (map.put(namesAndValues[i], namesAndValues[i + 1]) != null) {
        throw new IllegalArgumentException("duplicate label " + namesAndValues[i]);
      }
    }
    return of(map);
  }

  /**
   * Labels from parallel arrays already sorted by name with unique names. The arrays are taken as they
   * are, not copied: for decoders that build them fresh.
   */
  public static Labels ofSorted(String[] sortedNames, String[] values) {
    if (sortedNames.length != values.length) {
      throw new IllegalArgumentException("names and values differ in length");
    }
    for (int i = 1; i < sortedNames.length; i++) {
      if (sortedNames[i - 1].compareTo(sortedNames[i]) >= 0) {
        throw new IllegalArgumentException("names not sorted and unique at " + sortedNames[i]);
      }
    }
    return sortedNames.length == 0 ? EMPTY : new Labels(sortedNames, values);
  }

  public int size() {
    return names.length;
  }

  public boolean isEmpty() {
    return names.length == 0;
  }

  /** The i-th name in sorted order. */
  public String name(int i) {
    return names[i];
  }

  /** The value of the i-th name in sorted order. */
  public String value(int i) {
    return values[i];
  }

  /** The value for a name, or {@code null}. */
  public String get(String name) {
    int i = Arrays.binarySearch(names, name);
    return i >= 0 ? values[i] : null;
  }

  public Map<String, String> asMap() {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) {
      m.put(names[i], values[i]);
    }
    return Collections.unmodifiableMap(m);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Labels
        && Arrays.equals(names, ((Labels) o).names)
        && Arrays.equals(values, ((Labels) o).values);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(names) * 31 + Arrays.hashCode(values);
  }

  @Override
  public String toString() {
    return asMap().toString();
  }
}
