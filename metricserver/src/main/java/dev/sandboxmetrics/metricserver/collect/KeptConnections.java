package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.registry.ServedSandbox;
import io.netty.channel.Channel;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The control connections the metric server keeps open between scrapes, at most {@code perSandbox} idle
 * connections per sandbox incarnation (1; 2 with {@code --container-stats}, whose {@code containerManager.Event}
 * calls run beside the {@code Metrics.Export} call of the same scrape, and a connection carries one call at a
 * time): connecting and closing a hundred Unix sockets every scrape was a sixth of the server's CPU, and
 * runsc's uRPC server answers further calls on a connection (it loops until the connection fails).
 * {@link EventDrivenControlClient} takes a connection from here for a call (or a sequence of calls) and
 * offers it back once the call ended cleanly; anything unusual closes it instead, so a sandbox can never make
 * the server hold more than {@code perSandbox} idle connections for it, nor bring a reply into a later call.
 *
 * <p>Which sandboxes may keep one is the registry's business: {@link #retain} (called after every scan)
 * closes the connections of sandboxes no longer served, or whose incarnation, PID or socket changed (each
 * is a different {@link Key}). The total is bounded ({@code maxIdle}, by default a quarter of the
 * descriptor limit): past it a connection is closed after its call, as runsc does with every one. A sandbox
 * that hangs up after its replies (a server taking one call per connection) is noticed after
 * {@link #PEER_CLOSES_BEFORE_GIVING_UP} such closes in a row and then gets one connection per call.
 *
 * <p>Thread-safe: calls take and offer from event loops and workers, the registry retains from its scanner.
 */
public final class KeptConnections {
  /** Consecutive closes by the sandbox (idle, or before replying on a kept connection) after which we stop keeping. */
  static final int PEER_CLOSES_BEFORE_GIVING_UP = 2;

  /** One sandbox incarnation's control socket: a new iteration, PID or socket path is a new key. */
  public record Key(String sandboxId, String iteration, Path socket, long pid) {
    public static Key of(ServedSandbox sandbox) {
      return new Key(sandbox.id(), sandbox.iteration(), sandbox.controlSocket(), sandbox.facts().pid());
    }
  }

  /** What is kept for one key; its monitor guards the fields. */
  static final class Slot {
    /** The idle connections, {@code idle[0, count)}; any of them serves any call. */
    private final Channel[] idle;
    private int count;
    private int peerCloses;
    /** The sandbox hangs up after its replies: one connection per call from now on. */
    private boolean oneCallEach;
    private boolean retired;

    Slot(int perSandbox) {
      idle = new Channel[perSandbox];
    }
  }

  private final ConcurrentHashMap<Key, Slot> slots = new ConcurrentHashMap<>();
  private final AtomicInteger idle = new AtomicInteger();
  private final int maxIdle;
  private final int perSandbox;
  private volatile boolean closed;

  /** @param maxIdle the most idle connections held at once, all sandboxes together (0 keeps none) */
  public KeptConnections(int maxIdle) {
    this(maxIdle, 1);
  }

  /**
   * @param maxIdle the most idle connections held at once, all sandboxes together (0 keeps none)
   * @param perSandbox the most idle connections held for one sandbox: how many calls to it may run at once
   *     in a scrape (1 for the export alone, 2 when its container stats are asked beside it)
   */
  public KeptConnections(int maxIdle, int perSandbox) {
    if (maxIdle < 0) {
      throw new IllegalArgumentException("maxIdle must not be negative");
    }
    if (perSandbox < 1) {
      throw new IllegalArgumentException("perSandbox must be at least 1");
    }
    this.maxIdle = maxIdle;
    this.perSandbox = perSandbox;
  }

  /**
   * A quarter of the process's descriptor limit (HTTP clients may take half, see {@code --max-connections}):
   * what is left covers the calls in progress, the root directory and the state files.
   */
  public static int defaultMaxIdle() {
    long limit = -1;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      limit = unix.getMaxFileDescriptorCount();
    }
    if (limit <= 0) {
      return 1024;
    }
    return (int) Math.min(Integer.MAX_VALUE, limit / 4);
  }

  /** The slot of a key (made on first use), or null when nothing is kept (closed, or no room at all). */
  Slot slot(Key key) {
    if (closed || maxIdle == 0) {
      return null;
    }
    return slots.computeIfAbsent(key, k -> new Slot(perSandbox));
  }

  /** One of the key's idle connections, now the caller's alone; null when there is none. */
  Channel take(Slot slot) {
    synchronized (slot) {
      if (slot.count == 0) {
        return null;
      }
      Channel ch = slot.idle[--slot.count];
      slot.idle[slot.count] = null;
      idle.decrementAndGet();
      return ch;
    }
  }

  /**
   * Keeps {@code ch}, whose call ended cleanly, as one of the key's idle connections; false when it must be
   * closed instead (the key already has {@code perSandbox}, it is no longer served, the sandbox hangs up
   * after replies, the server is closing, or the cap is reached).
   */
  boolean offer(Slot slot, Channel ch) {
    synchronized (slot) {
      if (closed || slot.retired || slot.oneCallEach || slot.count == slot.idle.length || !ch.isActive()) {
        return false;
      }
      if (idle.incrementAndGet() > maxIdle) {
        idle.decrementAndGet();
        return false;
      }
      slot.idle[slot.count++] = ch;
    }
    if (closed) {
      // close() may have swept the slots before we put ch in; sweep this one again.
      drop(slot);
    }
    return true;
  }

  /** Forgets {@code ch} if it is one of the key's idle connections (it closed, or is being closed). */
  void forget(Slot slot, Channel ch) {
    synchronized (slot) {
      for (int i = 0; i < slot.count; i++) {
        if (slot.idle[i] == ch) {
          slot.idle[i] = slot.idle[--slot.count];
          slot.idle[slot.count] = null;
          idle.decrementAndGet();
          return;
        }
      }
    }
  }

  /** The sandbox closed a kept connection (while idle, or when called on it). */
  void peerClosed(Slot slot) {
    synchronized (slot) {
      if (++slot.peerCloses >= PEER_CLOSES_BEFORE_GIVING_UP) {
        slot.oneCallEach = true;
      }
    }
  }

  /** Whether the sandbox hangs up after its replies: its calls get one connection each. */
  boolean oneCallEach(Slot slot) {
    synchronized (slot) {
      return slot.oneCallEach;
    }
  }

  /** A call on a kept connection was answered: the sandbox does keep connections. */
  void reused(Slot slot) {
    synchronized (slot) {
      slot.peerCloses = 0;
    }
  }

  /** Whether the sandbox of {@code key} was found to hang up after its replies (for tests). */
  boolean givenUp(Key key) {
    Slot s = slots.get(key);
    if (s == null) {
      return false;
    }
    synchronized (s) {
      return s.oneCallEach;
    }
  }

  /** Idle connections held right now. */
  public int idleConnections() {
    return idle.get();
  }

  /** Keeps only the keys of {@code served}: the others' connections are closed and their memory dropped. */
  public void retain(Collection<ServedSandbox> served) {
    Set<Key> live = new HashSet<>(served.size() * 2);
    for (ServedSandbox s : served) {
      live.add(Key.of(s));
    }
    for (Map.Entry<Key, Slot> e : slots.entrySet()) {
      if (!live.contains(e.getKey()) && slots.remove(e.getKey(), e.getValue())) {
        drop(e.getValue());
      }
    }
  }

  /** Closes every idle connection and keeps none from now on (server shutdown). */
  public void close() {
    closed = true;
    for (Slot s : slots.values()) {
      drop(s);
    }
    slots.clear();
  }

  private void drop(Slot slot) {
    Channel[] chs;
    synchronized (slot) {
      slot.retired = true;
      chs = java.util.Arrays.copyOf(slot.idle, slot.count);
      java.util.Arrays.fill(slot.idle, null);
      idle.addAndGet(-slot.count);
      slot.count = 0;
    }
    for (Channel ch : chs) {
      ch.close();
    }
  }
}
