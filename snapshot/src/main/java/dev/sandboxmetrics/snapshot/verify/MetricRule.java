package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Value;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One registered metric as the {@link Verifier} checks it: what its data points must look like, and the last
 * accepted value of each of its field combinations. Everything a data point is checked against is
 * precomputed here once per registration, so that verifying a snapshot is a few array and hash lookups per
 * data point.
 *
 * <p>A field combination is identified by the index of each label value among the field's allowed values.
 * When the product of the fields' sizes is small (the usual case) the combination is a dense slot number and
 * memory is an array; otherwise it is a {@link ComboKey} in a hash map. Unlike gVisor, which joins values
 * with commas, this cannot confuse {@code a,b}+{@code c} with {@code a}+{@code b,c}.
 *
 * <p>Not thread-safe; the verifier serializes calls.
 */
final class MetricRule {
  /** Largest number of combinations kept in arrays; larger ones go to hash maps. */
  static final int MAX_DENSE_COMBINATIONS = 1024;

  private static final String[] PROCESS_METRIC_NAMES = {
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "process_resident_memory_bytes",
    "process_heap_bytes",
    "process_start_time_seconds",
    "process_threads",
  };

  /** A registration rule broken; the message is gVisor's wording without the metric prefix. */
  static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  final String name;
  final MetricType type;
  final String help;
  private final boolean uint64;
  /** Registered fields in registration order, for messages that follow gVisor's order. */
  private final List<MetricField> registeredFields;
  /** Field names sorted, as {@link Labels} keeps them. */
  private final String[] fieldNames;
  /** Per sorted field: allowed value to its index. */
  private final Map<String, Integer>[] allowed;
  private final int[] radix;
  /** Number of combinations when dense, -1 when sparse. */
  private final int denseCombinations;
  /** Expected {@code le} of each bucket, for distributions. */
  private final Value[] upperBounds;

  // Memory of accepted values per combination. Counters with dense combinations keep the number itself,
  // its kind (0 never accepted, 1 integer, 2 float) and bits, rather than the Value: no object per counter
  // stays alive between scrapes, and remembering stores no references, each of which would leave a dirty
  // card for G1's refinement threads to scan (measured: as much CPU again as verifying, on those threads).
  private byte[] lastCounterKinds;
  private long[] lastCounterBits;
  // Otherwise a Value for counters, a Histogram for distributions.
  private Object[] lastDense;
  private Map<ComboKey, Object> lastSparse;

  // Combinations seen in the snapshot being verified, to catch duplicates.
  private int[] seenDense;
  private Set<ComboKey> seenSparse;
  private int seenSparseStamp;

  @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array of maps, filled right here
  private MetricRule(MetricMetadata m) throws Invalid {
    String promName = m.prometheusName();
    if (m.name().isEmpty() || promName.isEmpty()) {
      throw new Invalid("metric has no name");
    }
    for (String reserved : PROCESS_METRIC_NAMES) {
      if (promName.equals(reserved)) {
        throw new Invalid(
            "metric name " + Go.quote(promName) + " is reserved by Prometheus for process-level metrics");
      }
    }
    if (promName.startsWith("meta_")) {
      throw new Invalid(
          "metric name " + Go.quote(promName) + " starts with \"meta_\" which is a reserved prefix");
    }
    char first = promName.charAt(0);
    if (first < 'a' || first > 'z') {
      throw new Invalid("invalid initial character in prometheus metric name: " + Go.quote(promName));
    }
    for (int i = 0; i < promName.length(); i++) {
      char c = promName.charAt(i);
      if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_') {
        throw new Invalid(
            "invalid character " + Character.toString(promName.codePointAt(i))
                + " in prometheus metric name " + Go.quote(promName));
      }
    }

    registeredFields = m.fields();
    Map<String, Map<String, Integer>> byName = new HashMap<>();
    for (MetricField f : registeredFields) {
      if (byName.containsKey(f.fieldName())) {
        throw new Invalid("field " + f.fieldName() + " is defined twice");
      }
      if (f.allowedValues().isEmpty()) {
        throw new Invalid("field " + f.fieldName() + " has no allowed values");
      }
      Map<String, Integer> values = new HashMap<>();
      for (String v : f.allowedValues()) {
        if (values.putIfAbsent(v, values.size()) != null) {
          throw new Invalid("field " + f.fieldName() + " has duplicate allowed value " + Go.quote(v));
        }
      }
      byName.put(f.fieldName(), values);
    }
    fieldNames = byName.keySet().toArray(new String[0]);
    Arrays.sort(fieldNames);
    allowed = new Map[fieldNames.length];
    radix = new int[fieldNames.length];
    long combinations = 1;
    for (int i = 0; i < fieldNames.length; i++) {
      allowed[i] = byName.get(fieldNames[i]);
      radix[i] = allowed[i].size();
      combinations = Math.min(combinations * radix[i], MAX_DENSE_COMBINATIONS + 1L);
    }
    denseCombinations = combinations <= MAX_DENSE_COMBINATIONS ? (int) combinations : -1;

    name = promName;
    help = m.description();
    switch (m.type()) {
      case MetricMetadata.TYPE_UINT64:
        uint64 = true;
        type = m.cumulative() ? MetricType.COUNTER : MetricType.GAUGE;
        upperBounds = null;
        break;
      case MetricMetadata.TYPE_DISTRIBUTION:
        uint64 = false;
        type = MetricType.HISTOGRAM;
        List<Long> lower = m.distributionBucketLowerBounds();
        int buckets = lower.size() + 1;
        if (buckets <= 1 || buckets > 256) {
          throw new Invalid("unsupported number of buckets: " + buckets);
        }
        upperBounds = new Value[buckets];
        for (int i = 0; i < lower.size(); i++) {
          upperBounds[i] = Value.ofInt(lower.get(i));
        }
        upperBounds[buckets - 1] = Value.ofFloat(Double.POSITIVE_INFINITY);
        break;
      default:
        throw new Invalid("invalid type: " + m.type());
    }
  }

  static MetricRule of(MetricMetadata m) throws Invalid {
    return new MetricRule(m);
  }

  boolean isDense() {
    return denseCombinations >= 0;
  }

  /** True when accepted values must be remembered: counters and histograms. */
  boolean remembers() {
    return type == MetricType.COUNTER || type == MetricType.HISTOGRAM;
  }

  // ---- read-only checks of one data point ----

  /**
   * Checks a data point's shape and returns its combination: a dense slot, or -1 for sparse metrics, whose
   * key is then stored in {@code keys[index]}. Marks the combination seen in this snapshot ({@code stamp}).
   */
  int check(DataPoint d, int stamp, ComboKey[] keys, int index) throws VerificationException {
    return check(d, stamp, keys, index, false, -1);
  }

  /**
   * {@link #check(DataPoint, int, ComboKey[], int)} with what the verifier already knows from earlier
   * snapshots: {@code knownDefinition} when {@code d.metric()} is an instance that passed this rule's
   * definition check before, {@code knownSlot} (else -1) when {@code d.labels()} is an instance that mapped
   * to that dense slot before. Both hold for the same objects whatever their values, so they skip work, not
   * checks.
   */
  int check(DataPoint d, int stamp, ComboKey[] keys, int index, boolean knownDefinition, int knownSlot)
      throws VerificationException {
    if (!knownDefinition && (d.metric().type() != type || !d.metric().help().equals(help))) {
      throw fail(
          "invalid metric definition: got " + describe(d.metric().name(), d.metric().type(), d.metric().help())
              + " want " + describe(name, type, help));
    }
    if (!d.externalLabels().isEmpty()) {
      throw fail("external labels are not allowed from a sandbox: got " + d.externalLabels());
    }
    int slot = knownSlot >= 0 ? markSeen(d.labels(), knownSlot, stamp) : checkLabels(d.labels(), stamp, keys, index);

    int specified = (d.value() != null ? 1 : 0) + (d.histogram() != null ? 1 : 0);
    if (specified != 1) {
      throw fail("invalid number of value fields specified: " + specified);
    }
    if (uint64) {
      if (d.value() == null) {
        throw fail("expected number value for gauge or counter");
      }
      if (!d.value().isInteger()) {
        throw fail("integer metric got non-integer value: " + Go.number(d.value()));
      }
    } else {
      Histogram h = d.histogram();
      if (h == null) {
        throw fail("expected histogram value for histogram");
      }
      List<Bucket> buckets = h.buckets();
      if (buckets.size() != upperBounds.length) {
        throw fail("invalid number of buckets: got " + buckets.size() + " want " + upperBounds.length);
      }
      if (h.ssd().isInteger() && h.ssd().longValue() != 0) {
        throw fail("sum of squared deviations must be a floating-point value, got " + Go.number(h.ssd()));
      }
      long total = 0;
      for (int i = 0; i < upperBounds.length; i++) {
        Bucket b = buckets.get(i);
        if (!b.upperBound().equals(upperBounds[i])) {
          throw fail(
              "invalid upper bound for bucket " + i + " (0-based): got " + Go.number(b.upperBound())
                  + " want " + Go.number(upperBounds[i]));
        }
        total += b.count();
        if (total < 0) {
          // Bucket counts are non-negative, so a negative sum is an overflow; writers add them up too.
          throw fail("total number of samples does not fit in 64 bits");
        }
      }
    }
    return slot;
  }

  private int checkLabels(Labels labels, int stamp, ComboKey[] keys, int at) throws VerificationException {
    int n = fieldNames.length;
    if (labels.size() != n) {
      throw labelsError(labels);
    }
    int slot = 0;
    int[] indices = isDense() ? null : new int[n];
    for (int i = 0; i < n; i++) {
      if (!fieldNames[i].equals(labels.name(i))) {
        throw labelsError(labels);
      }
      Integer index = allowed[i].get(labels.value(i));
      if (index == null) {
        throw labelsError(labels);
      }
      if (indices == null) {
        slot = slot * radix[i] + index;
      } else {
        indices[i] = index;
      }
    }
    if (indices == null) {
      return markSeen(labels, slot, stamp);
    }
    if (seenSparse == null || seenSparseStamp != stamp) {
      seenSparse = new HashSet<>();
      seenSparseStamp = stamp;
    }
    ComboKey key = new ComboKey(indices);
    if (!seenSparse.add(key)) {
      throw duplicate(labels);
    }
    keys[at] = key;
    return -1;
  }

  /** Marks a dense combination seen in this snapshot; a second time is a duplicate. */
  private int markSeen(Labels labels, int slot, int stamp) throws VerificationException {
    if (seenDense == null) {
      seenDense = new int[denseCombinations];
    }
    if (seenDense[slot] == stamp) {
      throw duplicate(labels);
    }
    seenDense[slot] = stamp;
    return slot;
  }

  /** Forgets which combinations were seen; for when the verifier's stamp wraps around. */
  void clearSeen() {
    if (seenDense != null) {
      Arrays.fill(seenDense, 0);
    }
    seenSparse = null;
  }

  /** The error gVisor would report for these labels, checking fields in registration order. */
  private VerificationException labelsError(Labels labels) {
    if (labels.size() != fieldNames.length) {
      return fail("invalid number of fields: got " + labels.size() + " want " + fieldNames.length);
    }
    for (MetricField f : registeredFields) {
      String value = labels.get(f.fieldName());
      if (value == null) {
        return fail("did not specify field " + Go.quote(f.fieldName()));
      }
      if (!f.allowedValues().contains(value)) {
        return fail("value " + Go.quote(value) + " is not allowed for field " + f.fieldName());
      }
    }
    return fail("labels " + labels + " do not match the registered fields");
  }

  private VerificationException duplicate(Labels labels) {
    StringBuilder values = new StringBuilder();
    for (MetricField f : registeredFields) {
      if (values.length() > 0) {
        values.append(',');
      }
      values.append(labels.get(f.fieldName()));
    }
    return fail("combination of field values " + Go.quote(values.toString()) + " was already seen");
  }

  // ---- monotonicity against memory ----

  /** Checks that the data point of this combination did not go backwards since the last accepted one. */
  void checkIncrease(DataPoint d, int slot, ComboKey key) throws VerificationException {
    if (type == MetricType.COUNTER && slot >= 0) {
      checkCounterIncrease(d.value(), slot);
    } else {
      checkIncrease(d, last(slot, key));
    }
  }

  private Object last(int slot, ComboKey key) {
    if (slot >= 0) {
      return lastDense == null ? null : lastDense[slot];
    }
    return lastSparse == null ? null : lastSparse.get(key);
  }

  /** {@link #checkIncrease(DataPoint, Object)} for a counter, on the remembered kind and bits. */
  private void checkCounterIncrease(Value now, int slot) throws VerificationException {
    byte kind = lastCounterKinds == null ? 0 : lastCounterKinds[slot];
    // Never accepted counts as Value.ZERO, an integer.
    boolean beforeInteger = kind != 2;
    long bits = kind == 0 ? 0 : lastCounterBits[slot];
    double beforeDouble = beforeInteger ? (double) bits : Double.longBitsToDouble(bits);
    boolean beforeZero = beforeInteger ? bits == 0 : beforeDouble == 0d;
    if (beforeInteger != now.isInteger() && !beforeZero && !now.isZero()) {
      throw fail("counter number type changed: " + Go.number(counterValue(kind, bits)) + " vs " + Go.number(now));
    }
    boolean decreased = beforeInteger && now.isInteger() ? bits > now.longValue() : beforeDouble > now.toDouble();
    if (decreased) {
      throw fail(
          "counter value decreased from " + Go.number(counterValue(kind, bits)) + " to " + Go.number(now));
    }
  }

  private static Value counterValue(byte kind, long bits) {
    return kind == 2 ? Value.ofFloat(Double.longBitsToDouble(bits)) : Value.ofInt(bits);
  }

  /** Checks that a counter or histogram did not go backwards since {@code last} (null: never seen). */
  private void checkIncrease(DataPoint d, Object last) throws VerificationException {
    if (type == MetricType.COUNTER) {
      Value before = last == null ? Value.ZERO : (Value) last;
      Value now = d.value();
      if (!sameType(before, now)) {
        throw fail("counter number type changed: " + Go.number(before) + " vs " + Go.number(now));
      }
      if (greater(before, now)) {
        throw fail("counter value decreased from " + Go.number(before) + " to " + Go.number(now));
      }
    } else if (type == MetricType.HISTOGRAM && last != null) {
      Histogram before = (Histogram) last;
      Histogram now = d.histogram();
      long count = saturatedCount(before);
      if (count >= 1) {
        if (!sameType(before.min(), now.min())) {
          throw fail("minimum value type changed: " + Go.number(before.min()) + " vs " + Go.number(now.min()));
        }
        if (greater(now.min(), before.min())) {
          throw fail(
              "minimum value strictly increased: from " + Go.number(before.min()) + " to " + Go.number(now.min()));
        }
        if (!sameType(before.max(), now.max())) {
          throw fail("maximum value type changed: " + Go.number(before.max()) + " vs " + Go.number(now.max()));
        }
        if (greater(before.max(), now.max())) {
          throw fail(
              "maximum value strictly decreased: from " + Go.number(before.max()) + " to " + Go.number(now.max()));
        }
      }
      if (count >= 2 && now.ssd().toDouble() < before.ssd().toDouble()) {
        throw fail(
            "sum of squared deviations decreased from " + Go.number(before.ssd()) + " to " + Go.number(now.ssd()));
      }
      List<Bucket> b0 = before.buckets();
      List<Bucket> b1 = now.buckets();
      for (int i = 0; i < b1.size(); i++) {
        if (b0.get(i).count() > b1.get(i).count()) {
          throw fail(
              "number of samples in bucket " + i + " (0-based) decreased from " + b0.get(i).count() + " to "
                  + b1.get(i).count());
        }
      }
    }
  }

  /** Remembers an accepted data point; only called once the whole snapshot is accepted. */
  void remember(DataPoint d, int slot, ComboKey key) {
    if (type == MetricType.COUNTER && slot >= 0) {
      if (lastCounterKinds == null) {
        lastCounterKinds = new byte[denseCombinations];
        lastCounterBits = new long[denseCombinations];
      }
      Value v = d.value();
      lastCounterKinds[slot] = (byte) (v.isInteger() ? 1 : 2);
      lastCounterBits[slot] = v.isInteger() ? v.longValue() : Double.doubleToRawLongBits(v.doubleValue());
      return;
    }
    Object value = type == MetricType.COUNTER ? d.value() : d.histogram();
    if (slot >= 0) {
      if (lastDense == null) {
        lastDense = new Object[denseCombinations];
      }
      lastDense[slot] = value;
    } else {
      if (lastSparse == null) {
        lastSparse = new HashMap<>();
      }
      lastSparse.put(key, value);
    }
  }

  /**
   * gVisor's {@code SameType}: both integers, both floats, or either one zero ({@code {}} is zero of any
   * kind).
   */
  private static boolean sameType(Value a, Value b) {
    return a.sameKind(b) || a.isZero() || b.isZero();
  }

  /**
   * {@code a > b} for two values of the same type. Unlike gVisor, which compares the integer parts of any
   * two values that look integral (so float counters 3.0 then 2.0 passed), floats compare as floats.
   * Comparisons with NaN are false, as in Go.
   */
  private static boolean greater(Value a, Value b) {
    if (a.isInteger() && b.isInteger()) {
      return a.longValue() > b.longValue();
    }
    return a.toDouble() > b.toDouble();
  }

  private static long saturatedCount(Histogram h) {
    long n = 0;
    for (Bucket b : h.buckets()) {
      n += b.count();
      if (n < 0) {
        return Long.MAX_VALUE;
      }
    }
    return n;
  }

  private VerificationException fail(String rule) {
    return new VerificationException("metric " + Go.quote(name) + ": " + rule);
  }

  private static String describe(String name, MetricType type, String help) {
    return "{name: " + Go.quote(name) + ", type: " + type.text() + ", help: " + Go.quote(help) + "}";
  }

  /** A sparse combination: the index of each label value, fields in sorted order. */
  static final class ComboKey {
    private final int[] indices;
    private final int hash;

    ComboKey(int[] indices) {
      this.indices = indices;
      this.hash = Arrays.hashCode(indices);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ComboKey && Arrays.equals(indices, ((ComboKey) o).indices);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
