package dev.sandboxmetrics.metricserver.http;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bound on the response bytes written but not yet taken by clients, over all connections of one
 * {@link HttpServer}. Streamed responses never wait for a client to read (a waiting writer would hold a
 * worker thread, so two clients that never read could stall every scrape); what a slow client has not taken
 * yet waits in Netty's buffers instead. This budget keeps those buffers from growing without bound: when it
 * is exceeded, the streamed response that has gone longest without progress is cut off and its connection
 * closed. A client that reads keeps making progress, so a client that never reads is always cut off first.
 *
 * <p>Used by {@link StreamingBody}; thread-safe.
 */
final class ResponseBudget {
  private static final Logger log = LoggerFactory.getLogger(ResponseBudget.class);

  private final long limit;
  private final AtomicLong pending = new AtomicLong();
  private final Set<StreamingBody> streams = ConcurrentHashMap.newKeySet();

  ResponseBudget(long limit) {
    this.limit = limit;
  }

  /**
   * The default: an eighth of the heap (Netty's direct memory is bounded by the heap size too), between 8 and
   * 256 MiB. Under the shipped container's options (256 MiB, half for the heap) that is 16 MiB.
   */
  static long defaultLimit() {
    long eighth = Runtime.getRuntime().maxMemory() / 8;
    return Math.max(8L << 20, Math.min(256L << 20, eighth));
  }

  long limit() {
    return limit;
  }

  long pending() {
    return pending.get();
  }

  void register(StreamingBody s) {
    streams.add(s);
  }

  void unregister(StreamingBody s) {
    streams.remove(s);
  }

  void taken(long bytes) {
    pending.addAndGet(bytes);
  }

  void released(long bytes) {
    pending.addAndGet(-bytes);
  }

  /**
   * Called after a stream queued bytes: while over the budget, cuts off the most stalled stream.
   *
   * @return true when the calling stream itself was the one to cut off
   */
  boolean relieve(StreamingBody caller) {
    boolean self = false;
    while (pending.get() > limit) {
      StreamingBody worst = null;
      for (StreamingBody s : streams) {
        if (s.pendingBytes() > 0 && (worst == null || s.lastProgress() - worst.lastProgress() < 0)) {
          worst = s;
        }
      }
      if (worst == null) {
        break;
      }
      streams.remove(worst);
      log.info(
          "Response buffers hold {} bytes (budget {}): closing {}, whose client took nothing for {} ms.",
          pending.get(),
          limit,
          worst.channelName(),
          (System.nanoTime() - worst.lastProgress()) / 1_000_000);
      if (worst == caller) {
        self = true;
        break;
      }
      worst.cutOff();
      // Its queued bytes are released asynchronously when the channel closes: do not pick another now.
      break;
    }
    return self;
  }
}
