package dev.sandboxmetrics.simulator;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Creation times as runsc writes them: wall-clock time with nanosecond digits (Go's {@code time.Now()}),
 * while Java's clock usually stops at microseconds; and strictly increasing, so that a sandbox re-created at
 * once still gets a new {@code createdAt} (and so a new {@code iteration} label).
 */
final class SimClock {
  private static final AtomicLong LAST = new AtomicLong();

  private SimClock() {}

  static Instant now() {
    Instant wall = Instant.now();
    long candidate = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
    if (wall.getNano() % 1000 == 0) {
      // Fill in the digits below the clock's resolution; they stay within the same microsecond.
      candidate += Math.floorMod(System.nanoTime(), 1000L);
    }
    long t = LAST.accumulateAndGet(candidate, (last, c) -> Math.max(last + 1, c));
    return Instant.ofEpochSecond(Math.floorDiv(t, 1_000_000_000L), Math.floorMod(t, 1_000_000_000L));
  }
}
