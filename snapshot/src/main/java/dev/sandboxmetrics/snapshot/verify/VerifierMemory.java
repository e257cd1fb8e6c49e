package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.verify.MetricRule.ComboKey;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What one {@link Verifier} remembers between snapshots, in a few flat arrays that the shared
 * {@link MetricRule}s index into at offsets fixed by their {@link RegistrationRules}: which dense combinations
 * the snapshot being verified has shown (a stamp per combination), and the last accepted numbers of every
 * counter and histogram combination (a kind and 64 bits each). A sandbox of the benchmark workload thus keeps
 * three small arrays (2.6 KB) instead of several per metric.
 *
 * <p>Metrics with too many combinations for arrays (rare) have a {@link Sparse} memory each, made on first
 * use. Not thread-safe; the verifier serializes calls.
 */
final class VerifierMemory {
  /** Per dense combination: the stamp of the last snapshot that showed it; 0, no stamp, for never. */
  final int[] seen;
  /** Per remembered number: {@link MetricRule#NEVER}, {@link MetricRule#INTEGER} or {@link MetricRule#FLOAT}. */
  final byte[] kinds;
  /** Per remembered number: the integer, or the raw bits of the float. */
  final long[] numbers;
  private final Sparse[] sparse;
  /** The mark of the snapshot being verified; starts at 1 so that fresh arrays (all 0) mean unseen. */
  int stamp;

  VerifierMemory(int seenSize, int numbersSize, int sparseCount) {
    seen = new int[seenSize];
    kinds = new byte[numbersSize];
    numbers = new long[numbersSize];
    sparse = sparseCount == 0 ? null : new Sparse[sparseCount];
  }

  /** A new mark for "seen in this snapshot". */
  void nextStamp() {
    if (stamp == Integer.MAX_VALUE) {
      Arrays.fill(seen, 0);
      if (sparse != null) {
        for (Sparse s : sparse) {
          if (s != null) {
            s.seen = null;
          }
        }
      }
      stamp = 0;
    }
    stamp++;
  }

  Sparse sparse(int index) {
    Sparse s = sparse[index];
    if (s == null) {
      s = new Sparse();
      sparse[index] = s;
    }
    return s;
  }

  /**
   * The memory of one metric with too many combinations for arrays: its combinations seen in this snapshot,
   * and the place of each accepted combination's numbers in arrays that grow with the combinations a sandbox
   * has actually sent.
   */
  static final class Sparse {
    private final Map<ComboKey, Integer> places = new HashMap<>();
    byte[] kinds = new byte[0];
    long[] numbers = new long[0];
    private int used;
    private Set<ComboKey> seen;
    private int seenStamp;

    /** Marks a combination seen in the snapshot {@code stamp}; false when it was already. */
    boolean markSeen(ComboKey key, int stamp) {
      if (seen == null || seenStamp != stamp) {
        seen = new HashSet<>();
        seenStamp = stamp;
      }
      return seen.add(key);
    }

    /** Where the numbers of an accepted combination are, or -1 when it was never accepted. */
    int find(ComboKey key) {
      Integer at = places.get(key);
      return at == null ? -1 : at;
    }

    /** Where to remember the numbers of a combination, {@code stride} of them, making room the first time. */
    int place(ComboKey key, int stride) {
      Integer at = places.get(key);
      if (at != null) {
        return at;
      }
      int next = used;
      if (next + stride > numbers.length) {
        int size = Math.max(next + stride, numbers.length * 2);
        kinds = Arrays.copyOf(kinds, size);
        numbers = Arrays.copyOf(numbers, size);
      }
      used += stride;
      places.put(key, next);
      return next;
    }
  }
}
