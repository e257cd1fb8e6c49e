package dev.sandboxmetrics.snapshot;

import java.util.AbstractList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * The immutable list behind {@link Snapshot#data()} and {@link Histogram#buckets()}: like {@link List#copyOf}
 * (no nulls, no changes), but of a final class of our own, so that {@link Snapshot#point} and
 * {@link Histogram#bucket} reach its array with a direct, inlinable call.
 *
 * <p>Why: the metric server runs on C1 alone, which inlines no interface call. Every {@code List.get} of
 * the scrape path's inner loops (decode, verify, render go through every data point of every sandbox) was
 * a real call through an inline cache or an itable stub, plus {@code ImmutableCollections}' own index check;
 * together a few percent of a scrape's CPU. A for-each over a list also allocates its iterator on C1,
 * which has no escape analysis.
 */
public final class FixedList<E> extends AbstractList<E> implements RandomAccess {
  private static final FixedList<?> EMPTY = new FixedList<>(new Object[0]);

  private final Object[] elements;

  private FixedList(Object[] elements) {
    this.elements = elements;
  }

  /** The list itself when it is already one of these, else a copy; throws NPE on a null element. */
  public static <E> FixedList<E> copyOf(Collection<? extends E> list) {
    if (list instanceof FixedList) {
      @SuppressWarnings("unchecked") // immutable, so a list of a subtype is a list of E
      FixedList<E> same = (FixedList<E>) list;
      return same;
    }
    return of(list.toArray(), list.size());
  }

  /** The first {@code n} elements of {@code array}, copied; throws NPE on a null element. */
  public static <E> FixedList<E> copyOf(E[] array, int n) {
    return of(array, n);
  }

  private static <E> FixedList<E> of(Object[] array, int n) {
    Objects.checkFromToIndex(0, n, array.length);
    if (n == 0) {
      @SuppressWarnings("unchecked") // empty and immutable
      FixedList<E> empty = (FixedList<E>) EMPTY;
      return empty;
    }
    Object[] copy = new Object[n];
    for (int i = 0; i < n; i++) {
      copy[i] = Objects.requireNonNull(array[i]);
    }
    return new FixedList<>(copy);
  }

  @Override
  @SuppressWarnings("unchecked") // only ever holds E
  public E get(int index) {
    return (E) elements[index];
  }

  @Override
  public int size() {
    return elements.length;
  }
}
