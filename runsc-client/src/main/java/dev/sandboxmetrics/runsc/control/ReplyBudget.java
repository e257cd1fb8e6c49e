package dev.sandboxmetrics.runsc.control;

import java.util.ArrayDeque;

/**
 * The bytes of sandbox replies that may be held in memory at once, across every sandbox being queried
 * ({@code --max-reply-bytes-in-flight}). Each {@link ReplyBuffer} reserves here before it allocates, and
 * gives its reservation back once the reply is decoded or abandoned. A reader that cannot reserve stops
 * reading (the bytes wait in the kernel's socket buffer, and the sandbox's writes block) and is called back
 * when bytes are given back, so a thousand normal replies at once are read a few hundred at a time instead
 * of exhausting the heap, and four oversized ones cost at most four times {@code --max-reply-bytes}. Only a
 * reply that holds nothing waits (see {@link ReplyBuffer#reserve}), so waiting cannot deadlock.
 *
 * <p>Thread-safe. {@link #UNLIMITED} is for a caller with one reply at a time ({@code export-metrics}).
 */
public final class ReplyBudget {
  /** No global bound (each reply is still bounded by its own maximum). */
  public static final ReplyBudget UNLIMITED = new ReplyBudget(Long.MAX_VALUE);

  private final long limit;
  private long used;
  private final ArrayDeque<Runnable> waiters = new ArrayDeque<>();

  public ReplyBudget(long limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("the reply budget must be positive, got " + limit);
    }
    this.limit = limit;
  }

  public long limit() {
    return limit;
  }

  /** Bytes reserved right now. */
  public synchronized long used() {
    return used;
  }

  /** Reserves {@code n} bytes if they fit (or nothing is reserved at all); false leaves nothing reserved. */
  public synchronized boolean tryReserve(long n) {
    if (n > limit - used && used > 0) {
      return false;
    }
    used += n;
    return true;
  }

  /**
   * Reserves {@code n} bytes even past the limit: for the last step of a reply that is already complete
   * (joining its pieces), which must not wait for others that may be waiting for it.
   */
  public synchronized void forceReserve(long n) {
    used += n;
  }

  /**
   * Calls {@code waiter} once, from the thread that gives bytes back (it should only hand off to its own
   * thread), after the next {@link #release}; the waiter then tries again and may wait again.
   */
  public void awaitRelease(Runnable waiter) {
    boolean now;
    synchronized (this) {
      now = used == 0; // nobody would ever release: try again at once
      if (!now) {
        waiters.add(waiter);
      }
    }
    if (now) {
      waiter.run();
    }
  }

  /** Gives {@code n} bytes back and wakes as many waiters as the free room may serve (at least one). */
  public void release(long n) {
    if (n <= 0) {
      return;
    }
    Runnable[] wake;
    synchronized (this) {
      used = Math.max(0, used - n);
      long free = limit - used;
      int count = (int) Math.min(waiters.size(), Math.max(1, free / ReplyBuffer.CHUNK_BYTES));
      wake = new Runnable[count];
      for (int i = 0; i < count; i++) {
        wake[i] = waiters.poll();
      }
    }
    for (Runnable w : wake) {
      w.run();
    }
  }
}
