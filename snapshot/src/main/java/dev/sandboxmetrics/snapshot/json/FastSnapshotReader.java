package dev.sandboxmetrics.snapshot.json;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.FixedList;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * The scrape path's decoder: a snapshot, or the {@code Metrics.Export} reply around one, straight from
 * UTF-8 bytes into the model. {@link RunscJson#readSnapshot(byte[], int, int)} and
 * {@link RunscJson#readExportReply} try it first, for every sandbox on every scrape.
 *
 * <p>Why a second decoder next to {@link RunscJsonReader}: decoding was most of a scrape's CPU time, and most
 * of that was Jackson turning every byte into tokens and Strings. A sandbox sends nearly the same bytes on
 * every scrape, and only its numbers change. So this class matches Go's compact layout as whole words
 * ({@code {"metric":}, {@code ,"val":{"int":}), recognises each metric and label object by comparing its
 * bytes with the object met at that point last time ({@link DecoderCaches.SpanCache}), and reads only the numbers. A
 * steady-state decode allocates the data points and their values, and little else; the metric and label
 * objects it hands out are shared, which the verifier and the writer exploit in turn.
 *
 * <p>It is a fast path, not a second definition of the format. It accepts only input it can vouch for:
 * RFC 8259 JSON in the shapes runsc writes (any member order, whitespace, unknown members, escapes), plus
 * the non-finite float tokens and strings the reader takes. For anything else, malformed or merely unusual
 * (a number beyond 64 bits or of 100 characters, nesting deeper than 16 levels in an unknown member, a
 * string of more than 64 KiB, a byte-order mark), it answers {@code null}, and {@link RunscJson} runs
 * {@link RunscJsonReader} on the same bytes, which decodes what is unusual and rejects what is malformed
 * with its message (path, line and column). So what is accepted, and every error message, are the reader's
 * by construction; {@code FastSnapshotReaderDifferentialTest} checks on thousands of valid, unusual and
 * corrupted inputs that wherever this class answers, the reader gives an equal model.
 *
 * <p>Where it could differ from the reader without a test noticing, it is stricter, never laxer: strings
 * must be well-formed UTF-8 without control characters, numbers must follow RFC 8259's grammar (no leading
 * zeros, no bare dots), whitespace is space, tab, CR and LF.
 *
 * <p>Its caches, shared by all threads and sandboxes, are in {@link DecoderCaches}.
 */
final class FastSnapshotReader {
  /** Thrown to give up on an input; carries nothing, costs nothing. */
  private static final class Unhandled extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unhandled() {
      super(null, null, false, false);
    }
  }

  private static final Unhandled UNHANDLED = new Unhandled();

  /** Longest string accepted, in bytes; far below the reader's limit of 2^20 chars (never more than bytes). */
  private static final int MAX_STRING_BYTES = 1 << 16;
  /** Longest member name accepted, in bytes; far below the reader's limit. */
  private static final int MAX_NAME_BYTES = 1024;
  /** Longest number token; the reader allows 500. */
  private static final int MAX_NUMBER_BYTES = 100;
  /** Deepest nesting inside an unknown member; with runsc's shapes around it, far below the reader's 64. */
  private static final int MAX_SKIP_DEPTH = 16;

  private static final byte[] WHEN = ascii("when");
  private static final byte[] DATA = ascii("data");
  private static final byte[] METRIC = ascii("metric");
  private static final byte[] NAME = ascii("name");
  private static final byte[] TYPE = ascii("type");
  private static final byte[] HELP = ascii("help");
  private static final byte[] LABELS = ascii("labels");
  private static final byte[] EXTERNAL_LABELS = ascii("external_labels");
  private static final byte[] VAL = ascii("val");
  private static final byte[] HISTOGRAM = ascii("histogram");
  private static final byte[] INT = ascii("int");
  private static final byte[] FLOAT = ascii("float");
  private static final byte[] TOTAL = ascii("total");
  private static final byte[] MIN = ascii("min");
  private static final byte[] MAX = ascii("max");
  private static final byte[] SSD = ascii("ssd");
  private static final byte[] BUCKETS = ascii("buckets");
  private static final byte[] LE = ascii("le");
  private static final byte[] N = ascii("n");
  private static final byte[] SUCCESS = ascii("success");
  private static final byte[] ERR = ascii("err");
  private static final byte[] RESULT = ascii("result");
  private static final byte[] SNAPSHOT = ascii("snapshot");
  private static final byte[] TRUE = ascii("true");
  private static final byte[] FALSE = ascii("false");
  private static final byte[] NULL = ascii("null");
  private static final byte[] NAN = ascii("NaN");
  private static final byte[] INFINITY = ascii("Infinity");
  private static final byte[] MINUS_INFINITY = ascii("-Infinity");

  /** Exact powers of ten as doubles: 10^22 is the largest a double holds exactly. */
  private static final double[] POWERS_OF_TEN = new double[23];

  static {
    POWERS_OF_TEN[0] = 1;
    for (int i = 1; i < POWERS_OF_TEN.length; i++) {
      POWERS_OF_TEN[i] = POWERS_OF_TEN[i - 1] * 10;
    }
  }

  /** {@code {"int":}, how Go starts nearly every number. */
  private static final byte[] INT_OBJECT = ascii("{\"int\":");

  // The pieces of a data point, histogram and bucket exactly as Go's encoder writes them.
  private static final Literal GO_METRIC = new Literal("{\"metric\":");
  private static final Literal GO_LABELS = new Literal(",\"labels\":");
  private static final Literal GO_VAL_INT = new Literal(",\"val\":{\"int\":");
  private static final Literal GO_VAL = new Literal(",\"val\":");
  private static final Literal GO_HISTOGRAM = new Literal(",\"histogram\":");
  private static final Literal GO_TOTAL = new Literal("{\"total\":");
  private static final Literal GO_MIN = new Literal(",\"min\":");
  private static final Literal GO_MAX = new Literal(",\"max\":");
  private static final Literal GO_SSD = new Literal(",\"ssd\":");
  private static final Literal GO_BUCKETS = new Literal(",\"buckets\":[");
  private static final Literal GO_LE = new Literal("{\"le\":");
  private static final Literal GO_N = new Literal(",\"n\":");

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** Up to 16 bytes of fixed text, as two little-endian words and masks, to compare in two steps. */
  private static final class Literal {
    final byte[] bytes;
    final long word0;
    final long mask0;
    final long word1;
    final long mask1;

    Literal(String text) {
      bytes = ascii(text);
      if (bytes.length > 16) {
        throw new IllegalArgumentException(text);
      }
      long[] words = new long[2];
      long[] masks = new long[2];
      for (int i = 0; i < bytes.length; i++) {
        words[i / 8] |= (bytes[i] & 0xffL) << (8 * (i % 8));
        masks[i / 8] |= 0xffL << (8 * (i % 8));
      }
      word0 = words[0];
      mask0 = masks[0];
      word1 = words[1];
      mask1 = masks[1];
    }
  }

  private final byte[] b;
  private final int end;
  private final RunscJson.BothSetPolicy bothSet;
  /** Whether the number being read is a data point's value (not a histogram's). */
  private boolean scalar;
  /** Whether the number being read is a bucket's upper bound (see {@link #bound}). */
  private boolean bound;
  private int pos;

  /** Where the last member name read by {@link #name()} starts. */
  private int nameStart;
  /** The last member name decoded when it is not plain ASCII (escapes, other characters), else null. */
  private String decodedName;

  // Scratch for one label set at a time.
  private String[] labelNames = new String[8];
  private String[] labelValues = new String[8];

  // The cache entries of the previous metric and label objects, from which the next ones are predicted.
  private DecoderCaches.SpanCache.Entry<Metric> lastMetric;
  private DecoderCaches.SpanCache.Entry<Labels> lastLabels;

  /**
   * Scratch arrays for the data points and the buckets being read, one pair per thread, reused by every
   * decode on it: a fresh 256-slot array per snapshot and a 32-slot one per histogram were ~0.15 MB of a
   * 100-sandbox scrape's garbage. Cleared after each use, so they keep no snapshot alive; one grown past
   * {@link #SCRATCH_KEPT} slots by a huge snapshot is not kept.
   */
  private static final class Scratch {
    DataPoint[] points = new DataPoint[256];
    Bucket[] buckets = new Bucket[32];
  }

  private static final int SCRATCH_KEPT = 4096;
  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private final Scratch scratch = SCRATCH.get();

  private FastSnapshotReader(byte[] b, int off, int len, RunscJson.BothSetPolicy policy) {
    this.b = b;
    this.pos = off;
    this.end = off + len;
    this.bothSet = policy;
  }

  // ---- entry points ----

  /**
   * The snapshot in {@code b[off, off+len)}, or null when this class does not vouch for the input (then
   * {@link RunscJsonReader} must decide). The range must lie within the array.
   */
  static Snapshot snapshot(byte[] b, int off, int len, RunscJson.BothSetPolicy policy) {
    FastSnapshotReader r = new FastSnapshotReader(b, off, len, policy);
    try {
      if (r.ws() != '{') {
        return null;
      }
      Snapshot s = r.snapshotObject();
      r.endOfInput();
      return s;
    } catch (Unhandled e) {
      return null;
    }
  }

  /** The Export reply in {@code b[off, off+len)}, or null as for {@link #snapshot}. */
  static ExportReply exportReply(byte[] b, int off, int len, RunscJson.BothSetPolicy policy) {
    FastSnapshotReader r = new FastSnapshotReader(b, off, len, policy);
    try {
      if (r.ws() != '{') {
        return null;
      }
      ExportReply reply = r.exportReplyObject();
      r.endOfInput();
      return reply;
    } catch (Unhandled e) {
      return null;
    }
  }

  // ---- documents ----

  private ExportReply exportReplyObject() {
    pos++;
    boolean success = false;
    String err = "";
    Snapshot result = null;
    if (ws() != '}') {
      do {
        int len = name();
        int c = ws();
        if (isName(len, SUCCESS)) {
          success = bool(c);
        } else if (isName(len, ERR)) {
          err = string(c);
        } else if (isName(len, RESULT)) {
          if (c == 'n') {
            // A null result leaves an earlier one in place, as in the reader.
            literal(NULL);
          } else {
            result = resultObject(c, result);
          }
        } else {
          skip(c, 0);
        }
      } while (moreMembers());
    }
    pos++;
    if (success && result == null) {
      throw UNHANDLED;
    }
    return new ExportReply(success, err, success ? result : null);
  }

  private Snapshot resultObject(int c, Snapshot result) {
    if (c != '{') {
      throw UNHANDLED;
    }
    pos++;
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, SNAPSHOT)) {
          if (v == 'n') {
            literal(NULL);
            result = null;
          } else if (v == '{') {
            result = snapshotObject();
          } else {
            throw UNHANDLED;
          }
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    return result;
  }

  private Snapshot snapshotObject() {
    pos++;
    Instant when = RunscTime.GO_ZERO_TIME;
    List<DataPoint> data = List.of();
    if (ws() != '}') {
      do {
        int len = name();
        int c = ws();
        if (isName(len, DATA)) {
          data = dataArray(c);
        } else if (isName(len, WHEN)) {
          when = time(c);
        } else {
          skip(c, 0);
        }
      } while (moreMembers());
    }
    pos++;
    return new Snapshot(when, data);
  }

  private Instant time(int c) {
    String text = string(c);
    try {
      return RunscTime.parseRfc3339(text);
    } catch (IllegalArgumentException | DateTimeException e) {
      throw UNHANDLED;
    }
  }

  private List<DataPoint> dataArray(int c) {
    if (c == 'n') {
      literal(NULL);
      return List.of();
    }
    if (c != '[') {
      throw UNHANDLED;
    }
    pos++;
    DataPoint[] points = scratch.points;
    int n = 0;
    try {
      if (ws() != ']') {
        do {
          DataPoint d = dataPoint(ws());
          if (n == points.length) {
            points = Arrays.copyOf(points, n * 2);
            if (points.length <= SCRATCH_KEPT) {
              scratch.points = points;
            }
          }
          points[n++] = d;
        } while (moreElements());
      }
      pos++;
      // Copied once; the snapshot then keeps that immutable list as it is.
      return FixedList.copyOf(points, n);
    } finally {
      Arrays.fill(points, 0, n, null);
    }
  }

  /** The thread's bucket scratch with room for one more at {@code n}: grown (and kept if not too large). */
  private Bucket[] moreBuckets(Bucket[] list, int n) {
    if (n < list.length) {
      return list;
    }
    Bucket[] grown = Arrays.copyOf(list, n * 2);
    if (grown.length <= SCRATCH_KEPT) {
      scratch.buckets = grown;
    }
    return grown;
  }

  private DataPoint dataPoint(int c) {
    int start = pos;
    DataPoint d = goDataPoint();
    if (d != null) {
      return d;
    }
    pos = start;
    return anyDataPoint(c);
  }

  /**
   * A data point as Go writes it: {@code {"metric":M[,"labels":L],"val":V}} or with {@code "histogram":H}.
   * Null when the input is shaped otherwise (then {@code pos} is anywhere inside the data point). The values
   * themselves are read by the general methods, which throw only for what the reader rejects too.
   */
  private DataPoint goDataPoint() {
    if (!take(GO_METRIC)) {
      return null;
    }
    Metric metric = metric(ws());
    Labels labels = Labels.EMPTY;
    if (take(GO_LABELS)) {
      labels = labels(ws());
    }
    Value val = null;
    Histogram histogram = null;
    if (take(GO_VAL_INT)) {
      val = Value.ofInt(integer(ws()));
      if (peek() != '}') {
        return null;
      }
      pos++;
    } else if (take(GO_VAL)) {
      if (ws() != '{') {
        return null;
      }
      val = scalar('{');
    } else if (take(GO_HISTOGRAM)) {
      histogram = goHistogram();
      if (histogram == null) {
        return null;
      }
    } else {
      return null;
    }
    if (peek() != '}') {
      return null;
    }
    pos++;
    return new DataPoint(metric, labels, Labels.EMPTY, val, histogram);
  }

  /** A histogram as Go writes it, or null as for {@link #goDataPoint}. */
  private Histogram goHistogram() {
    if (!take(GO_TOTAL)) {
      return null;
    }
    Value total = number(ws());
    if (!take(GO_MIN)) {
      return null;
    }
    Value min = number(ws());
    if (!take(GO_MAX)) {
      return null;
    }
    Value max = number(ws());
    if (!take(GO_SSD)) {
      return null;
    }
    Value ssd = number(ws());
    if (!take(GO_BUCKETS)) {
      return null;
    }
    Bucket[] list = scratch.buckets;
    int n = 0;
    try {
      if (peek() != ']') {
        while (true) {
          if (!take(GO_LE)) {
            return null;
          }
          Value le = bound(ws());
          if (!take(GO_N)) {
            return null;
          }
          long count = integer(ws());
          if (count < 0 || peek() != '}') {
            return null;
          }
          pos++;
          list = moreBuckets(list, n);
          list[n++] = new Bucket(le, count);
          if (peek() != ',') {
            break;
          }
          pos++;
        }
      }
      if (peek() != ']') {
        return null;
      }
      pos++;
      if (peek() != '}') {
        return null;
      }
      pos++;
      return new Histogram(total, min, max, ssd, FixedList.copyOf(list, n));
    } finally {
      Arrays.fill(list, 0, n, null);
    }
  }

  /** The byte at {@code pos} (0..255), or -1 at the end. */
  private int peek() {
    return pos < end ? b[pos] & 0xff : -1;
  }

  /** A data point in any shape the reader accepts, or at least not one it would decode differently. */
  private DataPoint anyDataPoint(int c) {
    if (c != '{') {
      throw UNHANDLED;
    }
    pos++;
    Metric metric = null;
    Labels labels = Labels.EMPTY;
    Labels external = Labels.EMPTY;
    Value val = null;
    Histogram histogram = null;
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, METRIC)) {
          metric = metric(v);
        } else if (isName(len, VAL)) {
          if (v == 'n') {
            literal(NULL);
            val = null;
          } else {
            val = scalar(v);
          }
        } else if (isName(len, LABELS)) {
          labels = labels(v);
        } else if (isName(len, HISTOGRAM)) {
          if (v == 'n') {
            literal(NULL);
            histogram = null;
          } else {
            histogram = histogram(v);
          }
        } else if (isName(len, EXTERNAL_LABELS)) {
          external = labels(v);
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    if (metric == null) {
      throw UNHANDLED;
    }
    return new DataPoint(metric, labels, external, val, histogram);
  }

  private Metric metric(int c) {
    if (c != '{') {
      throw UNHANDLED;
    }
    DecoderCaches.SpanCache.Entry<Metric> known = DecoderCaches.METRIC_OBJECTS.find(lastMetric, b, pos, end);
    if (known == null) {
      int start = pos;
      Metric m = metricObject();
      lastMetric = DecoderCaches.METRIC_OBJECTS.put(lastMetric, b, start, pos, m);
      return m;
    }
    lastMetric = known;
    pos += known.span.length;
    return known.value;
  }

  private Metric metricObject() {
    pos++;
    String name = null;
    MetricType type = MetricType.UNTYPED;
    String help = "";
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, NAME)) {
          name = string(v);
        } else if (isName(len, TYPE)) {
          type = MetricType.fromCode(integer(v));
          if (type == null) {
            throw UNHANDLED;
          }
        } else if (isName(len, HELP)) {
          help = string(v);
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    if (name == null) {
      throw UNHANDLED;
    }
    return DecoderCaches.METRICS.get(name, type, help);
  }

  private Labels labels(int c) {
    if (c == 'n') {
      literal(NULL);
      return Labels.EMPTY;
    }
    if (c != '{') {
      throw UNHANDLED;
    }
    DecoderCaches.SpanCache.Entry<Labels> known = DecoderCaches.LABELS_OBJECTS.find(lastLabels, b, pos, end);
    if (known == null) {
      int start = pos;
      Labels labels = labelsObject();
      lastLabels = DecoderCaches.LABELS_OBJECTS.put(lastLabels, b, start, pos, labels);
      return labels;
    }
    lastLabels = known;
    pos += known.span.length;
    return known.value;
  }

  private Labels labelsObject() {
    pos++;
    int n = 0;
    if (ws() != '}') {
      do {
        int len = name();
        String key = decodedName != null ? decodedName : new String(b, nameStart, len, StandardCharsets.ISO_8859_1);
        String value = string(ws());
        if (n == labelNames.length) {
          labelNames = Arrays.copyOf(labelNames, n * 2);
          labelValues = Arrays.copyOf(labelValues, n * 2);
        }
        // Go writes maps sorted by key, so this is one comparison; other producers get insertion sort.
        int at = n;
        while (at > 0) {
          int order = labelNames[at - 1].compareTo(key);
          if (order == 0) {
            throw UNHANDLED; // a duplicate: the reader's error to report
          }
          if (order < 0) {
            break;
          }
          labelNames[at] = labelNames[at - 1];
          labelValues[at] = labelValues[at - 1];
          at--;
        }
        labelNames[at] = key;
        labelValues[at] = value;
        n++;
      } while (moreMembers());
    }
    pos++;
    return n == 0 ? Labels.EMPTY : DecoderCaches.LABEL_SETS.get(labelNames, labelValues, n);
  }

  private Histogram histogram(int c) {
    if (c != '{') {
      throw UNHANDLED;
    }
    pos++;
    Value total = Value.ZERO;
    Value min = Value.ZERO;
    Value max = Value.ZERO;
    Value ssd = Value.ZERO;
    List<Bucket> buckets = List.of();
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, BUCKETS)) {
          buckets = bucketArray(v);
        } else if (isName(len, TOTAL)) {
          total = number(v);
        } else if (isName(len, MIN)) {
          min = number(v);
        } else if (isName(len, MAX)) {
          max = number(v);
        } else if (isName(len, SSD)) {
          ssd = number(v);
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    return new Histogram(total, min, max, ssd, buckets);
  }

  private List<Bucket> bucketArray(int c) {
    if (c == 'n') {
      literal(NULL);
      return List.of();
    }
    if (c != '[') {
      throw UNHANDLED;
    }
    pos++;
    Bucket[] list = scratch.buckets;
    int n = 0;
    try {
      if (ws() != ']') {
        do {
          Bucket bucket = bucket(ws());
          list = moreBuckets(list, n);
          list[n++] = bucket;
        } while (moreElements());
      }
      pos++;
      return FixedList.copyOf(list, n);
    } finally {
      Arrays.fill(list, 0, n, null);
    }
  }

  private Bucket bucket(int c) {
    if (c != '{') {
      throw UNHANDLED;
    }
    pos++;
    Value le = Value.ZERO;
    long count = 0;
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, LE)) {
          le = bound(v);
        } else if (isName(len, N)) {
          count = integer(v);
          if (count < 0) {
            throw UNHANDLED;
          }
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    return new Bucket(le, count);
  }

  /** A data point's value: a number under the rule for both set that gVisor's verifier applies there. */
  private Value scalar(int c) {
    scalar = true;
    try {
      return number(c);
    } finally {
      scalar = false;
    }
  }

  /** {@code {"int": N}}, {@code {"float": F}} or {@code {}}, with the reader's rules for zero and both. */
  /**
   * A bucket's upper bound: a number shared by value ({@link DecoderCaches#BOUNDS}), since a registration
   * fixes the bounds and every scrape of every sandbox sends the same ones.
   */
  private Value bound(int c) {
    bound = true;
    try {
      return number(c);
    } finally {
      bound = false;
    }
  }

  private Value ofInt(long v) {
    return bound ? DecoderCaches.BOUNDS.ofInt(v) : Value.ofInt(v);
  }

  private Value ofFloat(double v) {
    return bound ? DecoderCaches.BOUNDS.ofFloat(v) : Value.ofFloat(v);
  }

  private Value number(int c) {
    if (c != '{') {
      throw UNHANDLED;
    }
    if (lookingAt(INT_OBJECT)) {
      // {"int":N} without whitespace, as Go writes it; anything else takes the general way below.
      int start = pos;
      pos += INT_OBJECT.length;
      if (pos < end && (b[pos] == '-' || (b[pos] >= '0' && b[pos] <= '9'))) {
        long v = integer(b[pos]);
        if (pos < end && b[pos] == '}') {
          pos++;
          return ofInt(v);
        }
      }
      pos = start;
    }
    pos++;
    long intValue = 0;
    double floatValue = 0;
    if (ws() != '}') {
      do {
        int len = name();
        int v = ws();
        if (isName(len, INT)) {
          intValue = integer(v);
        } else if (isName(len, FLOAT)) {
          floatValue = floating(v);
        } else {
          skip(v, 0);
        }
      } while (moreMembers());
    }
    pos++;
    boolean intSet = intValue != 0;
    boolean floatSet = floatValue != 0; // true for NaN too
    if (intSet && floatSet && !RunscJson.intWins(bothSet, scalar, floatValue)) {
      throw UNHANDLED; // the reader says why
    }
    if (intSet) {
      return ofInt(intValue);
    }
    return floatSet ? ofFloat(floatValue) : Value.ZERO;
  }

  // ---- scalars ----

  /** An integer token that fits in 64 bits; anything else (a float, a string, NaN) is not handled. */
  private long integer(int c) {
    int p = pos;
    boolean negative = c == '-';
    if (negative) {
      p++;
    }
    int start = p;
    long v = 0;
    while (p < end) {
      int d = b[p] - '0';
      if (d < 0 || d > 9) {
        break;
      }
      v = v * 10 + d;
      p++;
    }
    int digits = p - start;
    if (digits == 0 || (b[start] == '0' && digits > 1)) {
      throw UNHANDLED;
    }
    if (p < end && (b[p] == '.' || b[p] == 'e' || b[p] == 'E')) {
      throw UNHANDLED;
    }
    if (digits > 18) {
      v = parseLongSlowly(pos, p);
      pos = p;
      return v;
    }
    pos = p;
    return negative ? -v : v;
  }

  private long parseLongSlowly(int from, int to) {
    if (to - from > 20) {
      throw UNHANDLED;
    }
    try {
      return Long.parseLong(new String(b, from, to - from, StandardCharsets.ISO_8859_1));
    } catch (NumberFormatException e) {
      throw UNHANDLED;
    }
  }

  /**
   * A float member's value: a number token (an integer token is taken as a long, then widened, as the
   * reader does), one of the tokens NaN, Infinity, -Infinity, or one of runsc's strings for them.
   */
  private double floating(int c) {
    if (c == '"') {
      return nonFiniteString();
    }
    if (c == 'N') {
      literal(NAN);
      return Double.NaN;
    }
    if (c == 'I') {
      literal(INFINITY);
      return Double.POSITIVE_INFINITY;
    }
    if (c == '-' && pos + 1 < end && b[pos + 1] == 'I') {
      literal(MINUS_INFINITY);
      return Double.NEGATIVE_INFINITY;
    }
    return numberToken(c);
  }

  /** A number token per RFC 8259, as a double; out-of-range floats are the reader's to reject. */
  private double numberToken(int c) {
    int start = pos;
    int p = pos;
    boolean negative = c == '-';
    if (negative) {
      p++;
    }
    int intStart = p;
    long mantissa = 0;
    int significant = 0;
    while (p < end && b[p] >= '0' && b[p] <= '9') {
      if (significant > 0 || b[p] != '0') {
        significant++;
      }
      mantissa = mantissa * 10 + (b[p] - '0');
      p++;
    }
    int intDigits = p - intStart;
    if (intDigits == 0 || (b[intStart] == '0' && intDigits > 1)) {
      throw UNHANDLED;
    }
    boolean integral = true;
    int exponent = 0;
    if (p < end && b[p] == '.') {
      integral = false;
      p++;
      int fracStart = p;
      while (p < end && b[p] >= '0' && b[p] <= '9') {
        if (significant > 0 || b[p] != '0') {
          significant++;
        }
        mantissa = mantissa * 10 + (b[p] - '0');
        p++;
      }
      if (p == fracStart) {
        throw UNHANDLED;
      }
      exponent = -(p - fracStart);
    }
    if (p < end && (b[p] == 'e' || b[p] == 'E')) {
      integral = false;
      p++;
      boolean negativeExponent = false;
      if (p < end && (b[p] == '+' || b[p] == '-')) {
        negativeExponent = b[p] == '-';
        p++;
      }
      int expStart = p;
      int e = 0;
      while (p < end && b[p] >= '0' && b[p] <= '9') {
        if (e < 100_000) {
          e = e * 10 + (b[p] - '0');
        }
        p++;
      }
      if (p == expStart) {
        throw UNHANDLED;
      }
      exponent += negativeExponent ? -e : e;
    }
    if (p - start > MAX_NUMBER_BYTES) {
      throw UNHANDLED;
    }
    pos = p;
    if (integral) {
      long v = intDigits > 18 ? parseLongSlowly(start, p) : negative ? -mantissa : mantissa;
      return v;
    }
    double d;
    if (significant <= 15 && exponent >= -22 && exponent <= 22) {
      // Both operands exact, so the one rounding of the product or quotient is the correct one.
      double m = mantissa;
      d = exponent >= 0 ? m * POWERS_OF_TEN[exponent] : m / POWERS_OF_TEN[-exponent];
      d = negative ? -d : d;
    } else {
      d = Double.parseDouble(new String(b, start, p - start, StandardCharsets.ISO_8859_1));
    }
    if (Double.isInfinite(d)) {
      throw UNHANDLED;
    }
    return d;
  }

  /** runsc's strings for non-finite floats; an escaped one is left to the reader. */
  private double nonFiniteString() {
    int s = pos + 1;
    int p = s;
    while (p < end && b[p] != '"' && b[p] != '\\' && p - s < 10) {
      p++;
    }
    if (p >= end || b[p] != '"') {
      throw UNHANDLED;
    }
    double d;
    switch (new String(b, s, p - s, StandardCharsets.ISO_8859_1)) {
      case "+Inf":
      case "Inf":
      case "Infinity":
      case "+Infinity":
        d = Double.POSITIVE_INFINITY;
        break;
      case "-Inf":
      case "-Infinity":
        d = Double.NEGATIVE_INFINITY;
        break;
      case "NaN":
        d = Double.NaN;
        break;
      default:
        throw UNHANDLED;
    }
    pos = p + 1;
    return d;
  }

  private boolean bool(int c) {
    if (c == 't') {
      literal(TRUE);
      return true;
    }
    if (c == 'f') {
      literal(FALSE);
      return false;
    }
    throw UNHANDLED;
  }

  /** Consumes {@code t} when the input at {@code pos} starts with it. */
  private boolean take(Literal t) {
    int n = t.bytes.length;
    if (end - pos < n) {
      return false;
    }
    if (pos + 16 > b.length) {
      if (!lookingAt(t.bytes)) {
        return false;
      }
    } else if (((long) LONGS.get(b, pos) & t.mask0) != t.word0
        || ((long) LONGS.get(b, pos + 8) & t.mask1) != t.word1) {
      return false;
    }
    pos += n;
    return true;
  }

  /** True when the input at {@code pos} starts with {@code bytes}; consumes nothing. */
  private boolean lookingAt(byte[] bytes) {
    int n = bytes.length;
    if (end - pos < n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (b[pos + i] != bytes[i]) {
        return false;
      }
    }
    return true;
  }

  /** Consumes exactly {@code word}; what may follow it is checked by the caller's next step. */
  private void literal(byte[] word) {
    int n = word.length;
    if (end - pos < n) {
      throw UNHANDLED;
    }
    for (int i = 0; i < n; i++) {
      if (b[pos + i] != word[i]) {
        throw UNHANDLED;
      }
    }
    pos += n;
  }

  /**
   * A string value starting at the quote at {@code pos}; one with escapes or other than ASCII characters is
   * decoded and checked the slow way.
   */
  private String string(int c) {
    if (c != '"') {
      throw UNHANDLED;
    }
    int s = pos + 1;
    int p = s;
    byte[] b = this.b;
    int end = this.end;
    while (true) {
      if (p >= end) {
        throw UNHANDLED;
      }
      byte x = b[p];
      if (x == '"') {
        break;
      }
      if (x == '\\' || x < 0x20) { // negative: not ASCII
        return slowString(s);
      }
      p++;
    }
    int len = p - s;
    if (len > MAX_STRING_BYTES) {
      throw UNHANDLED;
    }
    pos = p + 1;
    return new String(b, s, len, StandardCharsets.ISO_8859_1);
  }

  /**
   * Decodes a string with escapes or non-ASCII characters from its first content byte {@code s}, leaving
   * {@code pos} after the closing quote. Only well-formed UTF-8 (no overlong forms, no surrogates) and
   * JSON's own escapes are accepted.
   */
  private String slowString(int s) {
    StringBuilder sb = new StringBuilder();
    int p = s;
    while (true) {
      if (p >= end) {
        throw UNHANDLED;
      }
      int c = b[p] & 0xff;
      if (c == '"') {
        break;
      }
      if (c < 0x20) {
        throw UNHANDLED;
      }
      if (c == '\\') {
        p = escape(p + 1, sb);
      } else if (c < 0x80) {
        sb.append((char) c);
        p++;
      } else {
        p = utf8(p, c, sb);
      }
      if (p - s > MAX_STRING_BYTES) {
        throw UNHANDLED;
      }
    }
    pos = p + 1;
    return sb.toString();
  }

  /** One escape after its backslash, at {@code p}; returns the position after it. */
  private int escape(int p, StringBuilder sb) {
    if (p >= end) {
      throw UNHANDLED;
    }
    int e = b[p];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        sb.append((char) e);
        return p + 1;
      case 'b':
        sb.append('\b');
        return p + 1;
      case 'f':
        sb.append('\f');
        return p + 1;
      case 'n':
        sb.append('\n');
        return p + 1;
      case 'r':
        sb.append('\r');
        return p + 1;
      case 't':
        sb.append('\t');
        return p + 1;
      case 'u':
        if (end - p < 5) {
          throw UNHANDLED;
        }
        int v = 0;
        for (int i = 1; i <= 4; i++) {
          int h = Character.digit(b[p + i], 16);
          if (h < 0 || b[p + i] < 0) {
            throw UNHANDLED;
          }
          v = v << 4 | h;
        }
        sb.append((char) v);
        return p + 5;
      default:
        throw UNHANDLED;
    }
  }

  /** One multi-byte UTF-8 character whose lead byte {@code c} is at {@code p}; returns the position after it. */
  private int utf8(int p, int c, StringBuilder sb) {
    int more;
    int cp;
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      cp = c & 0x07;
    } else {
      throw UNHANDLED;
    }
    if (end - p <= more) {
      throw UNHANDLED;
    }
    for (int i = 1; i <= more; i++) {
      int x = b[p + i] & 0xff;
      if ((x & 0xc0) != 0x80) {
        throw UNHANDLED;
      }
      cp = cp << 6 | (x & 0x3f);
    }
    if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (more == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      throw UNHANDLED;
    }
    sb.appendCodePoint(cp);
    return p + 1 + more;
  }

  // ---- structure ----

  /**
   * Reads a member name and the colon after it; returns the name's length in bytes and its start in
   * {@link #nameStart}. A name that is not plain ASCII (escapes, other characters) is decoded into
   * {@link #decodedName}, which is null otherwise.
   */
  private int name() {
    if (ws() != '"') {
      throw UNHANDLED;
    }
    int s = pos + 1;
    int p = s;
    byte[] b = this.b;
    while (true) {
      if (p >= end) {
        throw UNHANDLED;
      }
      byte x = b[p];
      if (x == '"') {
        break;
      }
      if (x == '\\' || x < 0x20) { // negative: not ASCII
        return decodedName(s);
      }
      p++;
    }
    int len = p - s;
    if (len > MAX_NAME_BYTES) {
      throw UNHANDLED;
    }
    decodedName = null;
    pos = p + 1;
    return colon(s, len);
  }

  private int decodedName(int s) {
    decodedName = slowString(s);
    int len = pos - 1 - s;
    if (len > MAX_NAME_BYTES) {
      throw UNHANDLED;
    }
    return colon(s, len);
  }

  private int colon(int s, int len) {
    if (ws() != ':') {
      throw UNHANDLED;
    }
    pos++;
    nameStart = s;
    return len;
  }

  private boolean isName(int len, byte[] known) {
    if (decodedName != null) {
      return decodedName.equals(new String(known, StandardCharsets.ISO_8859_1));
    }
    if (len != known.length) {
      return false;
    }
    int s = nameStart;
    for (int i = 0; i < len; i++) {
      if (b[s + i] != known[i]) {
        return false;
      }
    }
    return true;
  }

  /** After a member: true after a comma, false with {@code pos} on the closing brace. */
  private boolean moreMembers() {
    int c = ws();
    if (c == ',') {
      pos++;
      return true;
    }
    if (c == '}') {
      return false;
    }
    throw UNHANDLED;
  }

  /** After an array element: true after a comma, false with {@code pos} on the closing bracket. */
  private boolean moreElements() {
    int c = ws();
    if (c == ',') {
      pos++;
      return true;
    }
    if (c == ']') {
      return false;
    }
    throw UNHANDLED;
  }

  /** Skips whitespace and returns the next byte (0..255) without consuming it; the end is not handled. */
  private int ws() {
    // Small enough for C1 to inline (35 bytes of bytecode): Go's compact JSON has no whitespace, so the
    // byte at pos is nearly always the answer.
    int p = pos;
    byte[] bytes = b;
    if (p < end && bytes[p] > ' ') {
      return bytes[p];
    }
    // Whitespace, the end, or a byte of 0x80 or more (negative here): the full loop.
    return skipWhitespace();
  }

  private int skipWhitespace() {
    int p = pos;
    while (p < end) {
      int c = b[p] & 0xff;
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        pos = p;
        return c;
      }
      p++;
    }
    throw UNHANDLED;
  }

  private void endOfInput() {
    for (int p = pos; p < end; p++) {
      int c = b[p];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        throw UNHANDLED;
      }
    }
  }

  /** Checks and skips the value of a member this decoder does not know, as the reader skips it. */
  private void skip(int c, int depth) {
    switch (c) {
      case '{':
        if (depth >= MAX_SKIP_DEPTH) {
          throw UNHANDLED;
        }
        pos++;
        if (ws() != '}') {
          do {
            name();
            skip(ws(), depth + 1);
          } while (moreMembers());
        }
        pos++;
        return;
      case '[':
        if (depth >= MAX_SKIP_DEPTH) {
          throw UNHANDLED;
        }
        pos++;
        if (ws() != ']') {
          do {
            skip(ws(), depth + 1);
          } while (moreElements());
        }
        pos++;
        return;
      case '"':
        string(c);
        return;
      case 't':
        literal(TRUE);
        return;
      case 'f':
        literal(FALSE);
        return;
      case 'n':
        literal(NULL);
        return;
      default:
        if (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') {
          floating(c);
          return;
        }
        throw UNHANDLED;
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
