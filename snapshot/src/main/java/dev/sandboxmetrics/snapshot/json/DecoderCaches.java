package dev.sandboxmetrics.snapshot.json;

import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Value;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The caches of {@link FastSnapshotReader}, its only user: decoded metric and label objects by their exact
 * bytes ({@link SpanCache}), and equal metrics and label sets shared by value ({@link MetricCache},
 * {@link LabelsCache}) when the bytes were not recognised.
 *
 * <p>The caches are shared by all threads and sandboxes, bounded in entries and entry size (together at
 * most a few MiB even under churn, about 100 KiB for a real sandbox's metrics), and safe without locks: an
 * entry is an immutable object published by a racy array store, which final fields make safe. A hostile
 * sandbox can at worst evict entries, costing a little time; it cannot grow memory or change a result,
 * because every cached object is used only after its bytes compared equal.
 */
final class DecoderCaches {
  static final MetricCache METRICS = new MetricCache();
  static final LabelsCache LABEL_SETS = new LabelsCache();
  static final SpanCache<Metric> METRIC_OBJECTS = new SpanCache<>();
  static final SpanCache<Labels> LABELS_OBJECTS = new SpanCache<>();
  static final BoundCache BOUNDS = new BoundCache();

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private DecoderCaches() {}


  /**
   * Values decoded from whole objects, by the objects' exact bytes: the metric objects and label objects of
   * a sandbox are byte for byte the same on every scrape, so one comparison of the bytes (vectorized by the
   * JIT) replaces reading them. Correct because a JSON object's extent is fixed by its bytes: when the input
   * at the current position starts with the bytes of an object decoded before, that is the object there.
   *
   * <p>Which object to compare with is predicted: sandboxes send their metrics in the same order every
   * time, so the object after a given one is most often the one that followed it last time (its
   * {@link Entry#next}), or the same one again (data points of one metric with different labels). Only when
   * both guesses fail is the object hashed, up to its first {@code '}'} and eight bytes at a time (for these
   * flat objects that is all of it; for any object, the hash depends on its bytes alone), and looked up in
   * a table of two ways per set, newest first. The {@code next} hints are written without synchronization:
   * any value is safe, because every guess is checked against the bytes.
   */
  static final class SpanCache<T> {
    private static final int SIZE = 1024;
    /** Longest object kept; also how far {@link #key} looks for its {@code '}'}. */
    static final int MAX_SPAN = 512;

    static final class Entry<T> {
      final long key;
      final byte[] span;
      final T value;
      /** The entry whose object followed this one last time; a hint, may be anything. */
      Entry<T> next;

      Entry(long key, byte[] span, T value) {
        this.key = key;
        this.span = span;
        this.value = value;
      }
    }

    @SuppressWarnings("unchecked") // an array of a generic type, only ever holding Entry<T>
    private final Entry<T>[] table = (Entry<T>[]) new Entry<?>[SIZE];

    /**
     * The entry whose bytes the input at {@code pos} starts with, or null; {@code previous} is the entry of
     * the previous object of this kind in the document (null if none or not cached).
     */
    Entry<T> find(Entry<T> previous, byte[] b, int pos, int end) {
      if (previous != null) {
        Entry<T> next = previous.next;
        if (next != null && matches(next.span, b, pos, end)) {
          return next;
        }
        if (matches(previous.span, b, pos, end)) {
          return previous;
        }
      }
      long key = key(b, pos, end);
      if (key == 0) {
        return null;
      }
      int slot = slot(key);
      Entry<T> e = table[slot];
      if (e == null || e.key != key || !matches(e.span, b, pos, end)) {
        e = table[slot + 1];
        if (e == null || e.key != key || !matches(e.span, b, pos, end)) {
          return null;
        }
      }
      if (previous != null) {
        previous.next = e;
      }
      return e;
    }

    /** Caches the object just decoded from {@code b[from, to)}; returns its entry, or null if not cached. */
    Entry<T> put(Entry<T> previous, byte[] b, int from, int to, T value) {
      if (to - from > MAX_SPAN) {
        return null;
      }
      long key = key(b, from, to);
      if (key == 0) {
        return null;
      }
      Entry<T> e = new Entry<>(key, Arrays.copyOfRange(b, from, to), value);
      int slot = slot(key);
      table[slot + 1] = table[slot];
      table[slot] = e;
      if (previous != null) {
        previous.next = e;
      }
      return e;
    }

    /** The key of the object starting at {@code pos}, or 0 when there is no {@code '}'} close enough. */
    static long key(byte[] b, int pos, int end) {
      int limit = Math.min(end, pos + MAX_SPAN);
      long h = 0x243f6a8885a308d3L;
      for (int p = pos; p < limit; p += 8) {
        long w;
        if (p + 8 <= b.length) {
          w = (long) LONGS.get(b, p);
        } else {
          w = 0;
          for (int i = 0; i < 8 && p + i < b.length; i++) {
            w |= (b[p + i] & 0xffL) << (8 * i);
          }
        }
        // The classic zero-byte test on w XOR '}'...'}': exact for the lowest (first) match.
        long x = w ^ 0x7d7d7d7d7d7d7d7dL;
        long m = (x - 0x0101010101010101L) & ~x & 0x8080808080808080L;
        if (m != 0) {
          int k = Long.numberOfTrailingZeros(m) >>> 3;
          if (p + k >= limit) {
            return 0;
          }
          if (k < 7) {
            w &= (1L << ((k + 1) << 3)) - 1;
          }
          h = (h ^ w) * 0x9e3779b97f4a7c15L;
          h ^= h >>> 32;
          return h == 0 ? 1 : h;
        }
        h = (h ^ w) * 0x9e3779b97f4a7c15L;
      }
      return 0;
    }

    private static int slot(long key) {
      return (int) (key >>> 54) & (SIZE - 2);
    }

    private static boolean matches(byte[] span, byte[] b, int pos, int end) {
      return span.length <= end - pos && Arrays.equals(span, 0, span.length, b, pos, pos + span.length);
    }
  }

  /**
   * Metrics by name, type and help, for metric objects whose bytes were not recognised (another layout,
   * an evicted entry): equal metrics still share one instance.
   */
  static final class MetricCache {
    private static final int SIZE = 1024;
    private static final int MAX_TEXT = 512;

    private final Metric[] table = new Metric[SIZE];

    Metric get(String name, MetricType type, String help) {
      if (name.length() + help.length() > MAX_TEXT) {
        return new Metric(name, type, help);
      }
      int h = name.hashCode() * 31 + help.hashCode() * 7 + type.ordinal();
      int slot = (h ^ (h >>> 12)) & (SIZE - 1);
      Metric m = table[slot];
      if (m != null && m.type() == type && m.name().equals(name) && m.help().equals(help)) {
        return m;
      }
      m = new Metric(name, type, help);
      table[slot] = m;
      return m;
    }
  }

  /**
   * Histogram bucket bounds by value: a registration fixes them, so every scrape of every sandbox sends the
   * same few dozen, and a decode takes the cached {@link Value} instead of making one per bucket (4,400 per
   * scrape of 100 bench sandboxes). Direct-mapped; an entry is used only when kind and bits are equal.
   */
  static final class BoundCache {
    private static final int SIZE = 512;

    private final Value[] table = new Value[SIZE];

    Value ofInt(long v) {
      if ((v & ~0xffL) == 0) {
        return Value.ofInt(v); // cached there
      }
      int slot = slot(v);
      Value e = table[slot];
      if (e != null && e.isInteger() && e.longValue() == v) {
        return e;
      }
      e = Value.ofInt(v);
      table[slot] = e;
      return e;
    }

    Value ofFloat(double d) {
      long bits = Double.doubleToRawLongBits(d);
      int slot = slot(bits ^ 0x5851f42d4c957f2dL);
      Value e = table[slot];
      if (e != null && !e.isInteger() && Double.doubleToRawLongBits(e.doubleValue()) == bits) {
        return e;
      }
      e = Value.ofFloat(d);
      table[slot] = e;
      return e;
    }

    private static int slot(long x) {
      long h = x * 0x9e3779b97f4a7c15L;
      return (int) (h >>> 55) & (SIZE - 1);
    }
  }

  /** Label sets by their names and values, as {@link MetricCache} for metrics. */
  static final class LabelsCache {
    private static final int SIZE = 1024;
    private static final int MAX_LABELS = 16;
    private static final int MAX_TEXT = 512;

    private final Labels[] table = new Labels[SIZE];

    Labels get(String[] names, String[] values, int n) {
      int h = n;
      int text = 0;
      for (int i = 0; i < n; i++) {
        h = (h * 31 + names[i].hashCode()) * 31 + values[i].hashCode();
        text += names[i].length() + values[i].length();
      }
      if (n > MAX_LABELS || text > MAX_TEXT) {
        return Labels.ofSorted(Arrays.copyOf(names, n), Arrays.copyOf(values, n));
      }
      int slot = (h ^ (h >>> 12)) & (SIZE - 1);
      Labels l = table[slot];
      if (l != null && matches(l, names, values, n)) {
        return l;
      }
      l = Labels.ofSorted(Arrays.copyOf(names, n), Arrays.copyOf(values, n));
      table[slot] = l;
      return l;
    }

    private static boolean matches(Labels l, String[] names, String[] values, int n) {
      if (l.size() != n) {
        return false;
      }
      for (int i = 0; i < n; i++) {
        if (!l.name(i).equals(names[i]) || !l.value(i).equals(values[i])) {
          return false;
        }
      }
      return true;
    }
  }
}
