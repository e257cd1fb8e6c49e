package dev.sandboxmetrics.metricserver.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open client connections of one {@link HttpServer} and the rules for admitting new ones, applied before
 * a connection's first byte is read: on a Unix socket with an allow-list, a caller whose SO_PEERCRED uid and
 * gid are not allowed is closed; beyond {@code --max-connections}, the connection idle the longest (no
 * request being answered) is closed to make room, or, when every connection is busy answering, the new one
 * is. Either way the descriptors that sandboxes and the root directory need stay available however many
 * connections clients open.
 *
 * <p>Counts what it refused for the meta metrics. Thread-safe: connections are accepted on several event
 * loops, without a lock, so simultaneous accepts may exceed the limit by a connection or two until the next
 * accept; the bound protects descriptors, for which a few more do not matter.
 */
public final class Connections {
  private static final Logger log = LoggerFactory.getLogger(Connections.class);
  static final AttributeKey<State> STATE = AttributeKey.valueOf(Connections.class, "state");
  /** Log a refusal at most this often, so that a flood cannot flood the log. */
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** What the {@link Router} of a connection tells us about it. */
  static final class State {
    volatile boolean busy;
    volatile long idleSince = System.nanoTime();
    /** When the response being sent last made progress (a write completed). */
    volatile long lastProgress = System.nanoTime();
    /** The last response went out and the connection is being closed: further requests are dropped. */
    volatile boolean closing;
  }

  /** How long a closing connection may still send us bytes, which are discarded, before it is closed. */
  static final long LINGER_MILLIS = 2000;

  /**
   * Closes a connection after its last response went out, without losing that response: closing a socket
   * that still has unread bytes from the client (pipelined requests we will not answer) makes the kernel
   * send a reset, which can destroy the response before the client reads it. So, like Go's server: send FIN,
   * discard what the client still sends until it closes too or {@link #LINGER_MILLIS} pass, then close.
   */
  static void closeAfterResponse(ChannelHandlerContext ctx, State state) {
    Channel ch = ctx.channel();
    state.closing = true;
    if (!(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
      ctx.close();
      return;
    }
    duplex.shutdownOutput().addListener(f -> {
      if (!f.isSuccess()) {
        ch.close();
        return;
      }
      ch.config().setAutoRead(true);
      ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
    });
  }

  private final ChannelGroup open = new DefaultChannelGroup("connections", GlobalEventExecutor.INSTANCE);
  private final ConnectionPolicy policy;
  private final int maxConnections;
  private final AtomicLong refusedPeer = new AtomicLong();
  private final AtomicLong refusedLimit = new AtomicLong();
  private final AtomicLong evictedIdle = new AtomicLong();
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

  Connections(ConnectionPolicy policy, int maxConnections) {
    this.policy = policy;
    this.maxConnections = maxConnections;
  }

  /** Callers refused by the peer allow-list. */
  public long refusedByPeerCredentials() {
    return refusedPeer.get();
  }

  /** New connections closed because the limit was reached and none could be made room for. */
  public long refusedOverLimit() {
    return refusedLimit.get();
  }

  /** Idle connections closed to make room for new ones. */
  public long evictedIdle() {
    return evictedIdle.get();
  }

  int maxConnections() {
    return maxConnections;
  }

  int size() {
    return open.size();
  }

  ChannelGroup group() {
    return open;
  }

  /**
   * Decides on a new connection, on its event loop before it reads: true to serve it (it is then tracked),
   * false when it was closed.
   */
  boolean admit(Channel ch) {
    if (ch instanceof DomainSocketChannel && policy.checksPeers() && !peerAllowed(ch)) {
      refusedPeer.incrementAndGet();
      ch.close();
      return false;
    }
    // A loop, not a single eviction: simultaneous accepts on two event loops can pass the limit by one, and
    // the next accept brings the count back under it.
    while (open.size() >= maxConnections) {
      if (!evictLongestIdle()) {
        refusedLimit.incrementAndGet();
        rateLimitedWarn(
            "Refusing a connection: {} connections are open (--max-connections) and all are being answered.",
            maxConnections);
        ch.close();
        return false;
      }
    }
    ch.attr(STATE).set(new State());
    open.add(ch);
    return true;
  }

  private boolean peerAllowed(Channel ch) {
    if (!(ch instanceof EpollDomainSocketChannel epoll)) {
      // The server refuses to start with an allow-list on a transport that cannot check it.
      return false;
    }
    try {
      PeerCredentials peer = epoll.peerCredentials();
      if (policy.allows(peer.uid(), peer.gids().length > 0 ? peer.gids()[0] : -1)) {
        return true;
      }
      rateLimitedWarn("Refusing a connection on the Unix socket from uid {} gid {} pid {}: not in the allow-list.",
          peer.uid(), peer.gids().length > 0 ? peer.gids()[0] : -1, peer.pid());
      return false;
    } catch (IOException | RuntimeException e) {
      rateLimitedWarn("Refusing a connection on the Unix socket: cannot read the caller's credentials: {}", e.toString());
      return false;
    }
  }

  private boolean evictLongestIdle() {
    Channel oldest = null;
    long oldestSince = Long.MAX_VALUE;
    for (Channel c : open) {
      State s = c.attr(STATE).get();
      if (s != null && !s.busy && c.isActive() && s.idleSince - oldestSince < 0) {
        oldest = c;
        oldestSince = s.idleSince;
      }
    }
    if (oldest == null) {
      return false;
    }
    // Out of the group now, so that the next accept does not count or pick it again.
    open.remove(oldest);
    oldest.close();
    evictedIdle.incrementAndGet();
    rateLimitedInfo("Closed the longest-idle connection to stay within {} connections (--max-connections).", maxConnections);
    return true;
  }

  private boolean mayLog() {
    long now = System.nanoTime();
    long last = lastLog.get();
    return now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now);
  }

  private void rateLimitedWarn(String format, Object... args) {
    if (mayLog()) {
      log.warn(format, args);
    }
  }

  private void rateLimitedInfo(String format, Object... args) {
    if (mayLog()) {
      log.info(format, args);
    }
  }
}
