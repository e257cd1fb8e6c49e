package dev.sandboxmetrics.metricserver.testing;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting in a test for something another thread or process brings about: polled, with a generous bound. */
public final class Await {
  private static final long BOUND_NANOS = TimeUnit.SECONDS.toNanos(20);

  private Await() {}

  /** Returns once {@code condition} holds; fails the test after 20 s, saying what it waited for. */
  public static void until(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND_NANOS;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(5);
    }
  }
}
