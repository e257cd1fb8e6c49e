package dev.sandboxmetrics.e2e;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * Polls until something a real process does has happened (a port listens, Prometheus has scraped twice).
 * The limits are upper bounds for a slow, shared machine, never timing assertions: a pass takes as long as
 * the thing takes.
 */
final class Await {
  private static final long PAUSE_MILLIS = 200;

  private Await() {}

  /**
   * Calls {@code probe} until {@code done} accepts its value and returns that value.
   *
   * @param what what is awaited, for the failure message ("Prometheus answers /-/ready")
   * @param context called on failure for more to print, e.g. the processes' logs
   * @throws AssertionError naming {@code what}, the last value or exception, and the context, when
   *     {@code limit} has passed
   */
  static <T> T until(String what, Duration limit, Callable<T> probe, Predicate<? super T> done,
      Callable<String> context) {
    long deadline = System.nanoTime() + limit.toNanos();
    T last = null;
    Exception lastError = null;
    while (true) {
      try {
        last = probe.call();
        lastError = null;
        if (done.test(last)) {
          return last;
        }
      } catch (Exception e) {
        lastError = e;
      }
      if (System.nanoTime() > deadline) {
        break;
      }
      try {
        Thread.sleep(PAUSE_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting until " + what, e);
      }
    }
    String extra;
    try {
      extra = context.call();
    } catch (Exception e) {
      extra = "(no more context: " + e + ")";
    }
    String lastSeen = lastError != null ? "last error: " + lastError : "last value: " + abbreviate(String.valueOf(last));
    throw new AssertionError("not the case within " + limit.toSeconds() + " s: " + what + "; " + lastSeen + extra,
        lastError);
  }

  private static String abbreviate(String text) {
    return text.length() <= 2000 ? text : text.substring(0, 2000) + "...";
  }
}
