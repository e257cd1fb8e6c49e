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
import java.util.List;
import java.util.Map;

/**
 * One registered metric as the {@link Verifier} checks it: what its data points must look like, and where
 * in a verifier's {@link VerifierMemory} the last accepted value of each of its field combinations lives.
 * Everything a data point is checked against is precomputed here once per registration, so that verifying a
 * snapshot is a few array and hash lookups per data point.
 *
 * <p>Immutable, and shared by every verifier of an equal registration ({@link RegistrationRules}): all
 * sandboxes of a node usually run the same runsc and register the same metrics, so the names, help texts,
 * allowed values and lookup maps exist once, not once per sandbox. What a verifier remembers is passed in.
 *
 * <p>A field combination is identified by the index of each label value among the field's allowed values.
 * When the product of the fields' sizes is small (the usual case) the combination is a dense slot number
 * whose marks and numbers sit at fixed offsets in the verifier's flat arrays; otherwise it is a
 * {@link ComboKey} in a hash map. Unlike gVisor, which joins values with commas, this cannot confuse
 * {@code a,b}+{@code c} with {@code a}+{@code b,c}.
 *
 * <p>Remembered numbers are kept as a kind (0 never accepted, 1 integer, 2 float) and 64 bits, rather than
 * as the {@link Value} or {@link Histogram}: no object of the last snapshot stays alive between scrapes, and
 * remembering stores no references, each of which would leave a dirty card for G1's refinement threads to
 * scan (measured: as much CPU again as verifying, on those threads). A counter takes one number; a histogram
 * takes its minimum, maximum and sum of squared deviations, then one count per bucket.
 */
final class MetricRule {
  /** Largest number of combinations kept in arrays; larger ones go to hash maps. */
  static final int MAX_DENSE_COMBINATIONS = 1024;

  /** Remembered number kinds. */
  static final byte NEVER = 0;
  static final byte INTEGER = 1;
  static final byte FLOAT = 2;

  /** Offsets of a histogram's remembered numbers; bucket counts follow. */
  private static final int MIN = 0;
  private static final int MAX = 1;
  private static final int SSD = 2;
  private static final int COUNTS = 3;

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

  /**
   * Hands out the places of each rule's memory in a verifier's flat arrays while a registration is read,
   * within a budget: a registration whose dense combinations would take more than {@code budget} entries
   * gets its remaining wide metrics as sparse ones, whose memory grows only with the combinations a sandbox
   * actually sends.
   */
  static final class Layout {
    private final int budget;
    private int seen;
    private int numbers;
    private int sparse;

    Layout(int budget) {
      this.budget = budget;
    }

    /** Places {@code combinations} dense combinations of {@code stride} numbers each, or answers false. */
    private boolean placeDense(int combinations, int stride) {
      long more = (long) combinations * (1 + stride);
      if (seen + (long) numbers + more > budget) {
        return false;
      }
      seen += combinations;
      numbers += combinations * stride;
      return true;
    }

    /** Marks of dense combinations a verifier keeps. */
    int seenSize() {
      return seen;
    }

    /** Numbers of dense combinations a verifier keeps. */
    int numbersSize() {
      return numbers;
    }

    /** Sparse metrics, each with its own memory in a verifier. */
    int sparseCount() {
      return sparse;
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
  /** Remembered numbers per combination: 0 for gauges, 1 for counters, 3 + buckets for histograms. */
  private final int stride;
  /** Dense: where this metric's marks start in {@link VerifierMemory#seen}. */
  private final int seenOffset;
  /** Dense: where this metric's numbers start in {@link VerifierMemory#numbers}. */
  private final int numbersOffset;
  /** Sparse: the index of this metric's memory in {@link VerifierMemory#sparse}. */
  private final int sparseIndex;

  @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array of maps, filled right here
  private MetricRule(MetricMetadata m, Layout layout) throws Invalid {
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

    name = promName;
    help = m.description();
    switch (m.type()) {
      case MetricMetadata.TYPE_UINT64:
        uint64 = true;
        type = m.cumulative() ? MetricType.COUNTER : MetricType.GAUGE;
        upperBounds = null;
        stride = type == MetricType.COUNTER ? 1 : 0;
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
        stride = COUNTS + buckets;
        break;
      default:
        throw new Invalid("invalid type: " + m.type());
    }

    // Valid: now take a place in the verifiers' memory.
    int seenAt = layout.seen;
    int numbersAt = layout.numbers;
    if (combinations <= MAX_DENSE_COMBINATIONS && layout.placeDense((int) combinations, stride)) {
      denseCombinations = (int) combinations;
      seenOffset = seenAt;
      numbersOffset = numbersAt;
      sparseIndex = -1;
    } else {
      denseCombinations = -1;
      seenOffset = -1;
      numbersOffset = -1;
      sparseIndex = layout.sparse++;
    }
  }

  static MetricRule of(MetricMetadata m, Layout layout) throws Invalid {
    return new MetricRule(m, layout);
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
   * key is then stored in {@code keys[index]}. Marks the combination seen in this snapshot in {@code memory}.
   *
   * <p>{@code knownDefinition} says that {@code d.metric()} is an instance that passed this rule's definition
   * check before, {@code knownSlot} (else -1) that {@code d.labels()} is an instance that mapped to that dense
   * slot before. Both hold for the same objects whatever their values, so they skip work, not checks.
   */
  int check(
      DataPoint d, VerifierMemory memory, ComboKey[] keys, int index, boolean knownDefinition, int knownSlot)
      throws VerificationException {
    if (!knownDefinition && (d.metric().type() != type || !d.metric().help().equals(help))) {
      throw fail(
          "invalid metric definition: got " + describe(d.metric().name(), d.metric().type(), d.metric().help())
              + " want " + describe(name, type, help));
    }
    if (!d.externalLabels().isEmpty()) {
      throw fail("external labels are not allowed from a sandbox: got " + d.externalLabels());
    }
    int slot = knownSlot >= 0 ? markSeen(d.labels(), memory, knownSlot) : checkLabels(d.labels(), memory, keys, index);

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
      if (h.bucketCount() != upperBounds.length) {
        throw fail("invalid number of buckets: got " + h.bucketCount() + " want " + upperBounds.length);
      }
      if (h.ssd().isInteger() && h.ssd().longValue() != 0) {
        throw fail("sum of squared deviations must be a floating-point value, got " + Go.number(h.ssd()));
      }
      long total = 0;
      for (int i = 0; i < upperBounds.length; i++) {
        Bucket b = h.bucket(i);
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

  private int checkLabels(Labels labels, VerifierMemory memory, ComboKey[] keys, int at)
      throws VerificationException {
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
      return markSeen(labels, memory, slot);
    }
    ComboKey key = new ComboKey(indices);
    if (!memory.sparse(sparseIndex).markSeen(key, memory.stamp)) {
      throw duplicate(labels);
    }
    keys[at] = key;
    return -1;
  }

  /** Marks a dense combination seen in this snapshot; a second time is a duplicate. */
  private int markSeen(Labels labels, VerifierMemory memory, int slot) throws VerificationException {
    int at = seenOffset + slot;
    if (memory.seen[at] == memory.stamp) {
      throw duplicate(labels);
    }
    memory.seen[at] = memory.stamp;
    return slot;
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
  void checkIncrease(DataPoint d, VerifierMemory memory, int slot, ComboKey key) throws VerificationException {
    byte[] kinds;
    long[] numbers;
    int at;
    if (slot >= 0) {
      kinds = memory.kinds;
      numbers = memory.numbers;
      at = numbersOffset + slot * stride;
    } else {
      VerifierMemory.Sparse sparse = memory.sparse(sparseIndex);
      kinds = sparse.kinds;
      numbers = sparse.numbers;
      at = sparse.find(key);
    }
    if (type == MetricType.COUNTER) {
      checkCounterIncrease(d.value(), kinds, numbers, at);
    } else if (type == MetricType.HISTOGRAM && at >= 0 && kinds[at + MIN] != NEVER) {
      checkHistogramIncrease(d.histogram(), kinds, numbers, at);
    }
  }

  /** A counter never accepted counts as {@link Value#ZERO}, an integer. */
  private void checkCounterIncrease(Value now, byte[] kinds, long[] numbers, int at) throws VerificationException {
    byte kind = at < 0 ? NEVER : kinds[at];
    long bits = kind == NEVER ? 0 : numbers[at];
    if (!sameType(kind, bits, now)) {
      throw fail("counter number type changed: " + Go.number(value(kind, bits)) + " vs " + Go.number(now));
    }
    if (greater(kind, bits, now)) {
      throw fail("counter value decreased from " + Go.number(value(kind, bits)) + " to " + Go.number(now));
    }
  }

  private void checkHistogramIncrease(Histogram now, byte[] kinds, long[] numbers, int at)
      throws VerificationException {
    long count = 0;
    for (int i = 0; i < upperBounds.length; i++) {
      count += numbers[at + COUNTS + i];
      if (count < 0) {
        count = Long.MAX_VALUE;
        break;
      }
    }
    if (count >= 1) {
      byte minKind = kinds[at + MIN];
      long min = numbers[at + MIN];
      if (!sameType(minKind, min, now.min())) {
        throw fail("minimum value type changed: " + Go.number(value(minKind, min)) + " vs " + Go.number(now.min()));
      }
      if (greater(now.min(), minKind, min)) {
        throw fail(
            "minimum value strictly increased: from " + Go.number(value(minKind, min)) + " to "
                + Go.number(now.min()));
      }
      byte maxKind = kinds[at + MAX];
      long max = numbers[at + MAX];
      if (!sameType(maxKind, max, now.max())) {
        throw fail("maximum value type changed: " + Go.number(value(maxKind, max)) + " vs " + Go.number(now.max()));
      }
      if (greater(maxKind, max, now.max())) {
        throw fail(
            "maximum value strictly decreased: from " + Go.number(value(maxKind, max)) + " to "
                + Go.number(now.max()));
      }
    }
    Value ssd = value(kinds[at + SSD], numbers[at + SSD]);
    if (count >= 2 && now.ssd().toDouble() < ssd.toDouble()) {
      throw fail("sum of squared deviations decreased from " + Go.number(ssd) + " to " + Go.number(now.ssd()));
    }
    for (int i = 0; i < now.bucketCount(); i++) {
      long before = numbers[at + COUNTS + i];
      if (before > now.bucket(i).count()) {
        throw fail(
            "number of samples in bucket " + i + " (0-based) decreased from " + before + " to "
                + now.bucket(i).count());
      }
    }
  }

  /** Remembers an accepted data point; only called once the whole snapshot is accepted. */
  void remember(DataPoint d, VerifierMemory memory, int slot, ComboKey key) {
    byte[] kinds;
    long[] numbers;
    int at;
    if (slot >= 0) {
      kinds = memory.kinds;
      numbers = memory.numbers;
      at = numbersOffset + slot * stride;
    } else {
      VerifierMemory.Sparse sparse = memory.sparse(sparseIndex);
      at = sparse.place(key, stride);
      kinds = sparse.kinds;
      numbers = sparse.numbers;
    }
    if (type == MetricType.COUNTER) {
      put(kinds, numbers, at, d.value());
      return;
    }
    Histogram h = d.histogram();
    put(kinds, numbers, at + MIN, h.min());
    put(kinds, numbers, at + MAX, h.max());
    put(kinds, numbers, at + SSD, h.ssd());
    for (int i = 0; i < h.bucketCount(); i++) {
      numbers[at + COUNTS + i] = h.bucket(i).count();
    }
  }

  private static void put(byte[] kinds, long[] numbers, int at, Value v) {
    kinds[at] = v.isInteger() ? INTEGER : FLOAT;
    numbers[at] = v.isInteger() ? v.longValue() : Double.doubleToRawLongBits(v.doubleValue());
  }

  /** A remembered number as a value again, for messages; never accepted reads as {@link Value#ZERO}. */
  private static Value value(byte kind, long bits) {
    return kind == FLOAT ? Value.ofFloat(Double.longBitsToDouble(bits)) : Value.ofInt(bits);
  }

  /**
   * gVisor's {@code SameType} of a remembered number and a new one: both integers, both floats, or either
   * one zero ({@code {}} is zero of any kind).
   */
  private static boolean sameType(byte kind, long bits, Value now) {
    boolean integer = kind != FLOAT;
    boolean zero = integer ? bits == 0 : Double.longBitsToDouble(bits) == 0d;
    return integer == now.isInteger() || zero || now.isZero();
  }

  /**
   * A remembered number {@code >} a new one of the same type. Unlike gVisor, which compares the integer parts
   * of any two values that look integral (so float counters 3.0 then 2.0 passed), floats compare as floats.
   * Comparisons with NaN are false, as in Go.
   */
  private static boolean greater(byte kind, long bits, Value now) {
    if (kind != FLOAT && now.isInteger()) {
      return bits > now.longValue();
    }
    return toDouble(kind, bits) > now.toDouble();
  }

  /** A new number {@code >} a remembered one; see {@link #greater(byte, long, Value)}. */
  private static boolean greater(Value now, byte kind, long bits) {
    if (kind != FLOAT && now.isInteger()) {
      return now.longValue() > bits;
    }
    return now.toDouble() > toDouble(kind, bits);
  }

  private static double toDouble(byte kind, long bits) {
    return kind == FLOAT ? Double.longBitsToDouble(bits) : (double) bits;
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
