package dev.sandboxmetrics.metricserver.http;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bound on the response bytes written but not yet taken by clients, over all connections of one
 * {@link HttpServer}. Streamed responses never wait for a client to read (a waiting writer would hold a
 * worker thread, so two clients that never read could stall every scrape); what a slow client has not taken
 * yet waits in Netty's buffers instead. This budget keeps those buffers from growing without bound: when it
 * is exceeded, the streamed response that has gone longest without progress (at least a second) is cut off
 * and its connection closed. A client that reads keeps making progress, so only clients that stopped
 * reading are cut off.
 *
 * <p>Used by {@link StreamingBody}; thread-safe.
 */
final class ResponseBudget {
  private static final Logger log = LoggerFactory.getLogger(ResponseBudget.class);

  /** A response is stalled when its client took nothing for this long; only stalled ones are cut off. */
  static final long STALLED_NANOS = TimeUnit.SECONDS.toNanos(1);

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
   * Called after a stream queued bytes: when over the budget, cuts off the stream that has gone longest
   * without progress, if that is longer than {@link #STALLED_NANOS}. Streams whose clients are reading are
   * never cut, even while their own response is ahead of the client by more than the budget: a large
   * response to Prometheus is not an attack.
   *
   * @return true when the calling stream itself is the one to cut off
   */
  boolean relieve(StreamingBody caller) {
    if (pending.get() <= limit) {
      return false;
    }
    long now = System.nanoTime();
    StreamingBody worst = null;
    for (StreamingBody s : streams) {
      if (s.pendingBytes() > 0
          && now - s.lastProgress() >= STALLED_NANOS
          && (worst == null || s.lastProgress() - worst.lastProgress() < 0)) {
        worst = s;
      }
    }
    if (worst == null) {
      return false;
    }
    streams.remove(worst);
    log.info(
        "Response buffers hold {} bytes (budget {}): closing {}, whose client took nothing for {} ms.",
        pending.get(),
        limit,
        worst.channelName(),
        (now - worst.lastProgress()) / 1_000_000);
    if (worst == caller) {
      return true;
    }
    // Its queued bytes are released when its channel has closed.
    worst.cutOff();
    return false;
  }
}
