package dev.sandboxmetrics.metricserver.collect;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Rate-limits the collector's warnings about sandboxes by the kind of failure ({@link SandboxResult.Reason}),
 * not by their text: a thousand stalled sandboxes, or a text with a number that changes at every scrape,
 * must not write thousands of lines. Per kind, the first {@link #BURST} lines of each {@link #WINDOW_NANOS}
 * are written; the rest are counted and summed up in one line when the kind next writes.
 *
 * <p>Thread-safe; used by {@link Collector}.
 */
final class FailureLog {
  static final int BURST = 5;
  static final long WINDOW_NANOS = 60_000_000_000L;

  private final Logger log;
  private final Map<String, Window> windows = new HashMap<>();

  private static final class Window {
    long start;
    int written;
    int suppressed;
  }

  FailureLog(Logger log) {
    this.log = log;
  }

  /** Writes {@code line} (already safe: bounded, escaped) at WARN unless its kind has written enough lately. */
  void warn(String kind, String line) {
    long now = System.nanoTime();
    int summary;
    synchronized (this) {
      Window w = windows.computeIfAbsent(kind, k -> new Window());
      if (w.written == 0 || now - w.start >= WINDOW_NANOS) {
        w.start = now;
        w.written = 0;
      }
      if (w.written >= BURST) {
        w.suppressed++;
        log.debug("{}", line);
        return;
      }
      w.written++;
      summary = w.suppressed;
      w.suppressed = 0;
    }
    if (summary > 0) {
      log.warn("{} more sandbox failures of kind \"{}\" were not logged in the last minute.", summary, kind);
    }
    log.warn("{}", line);
  }
}
