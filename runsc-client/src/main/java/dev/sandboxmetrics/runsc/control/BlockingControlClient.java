package dev.sandboxmetrics.runsc.control;

import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The blocking client for a sandbox's control socket (uRPC over a Unix stream socket, docs/runsc-protocol.md section
 * 3): connect, send one call, read exactly one JSON reply, close. One connection per call, as runsc does.
 * Used by {@code export-metrics}. Its event-driven twin for many sandboxes at once is the metric server's
 * {@code collect.EventDrivenControlClient}; both share the protocol layer ({@link ControlProtocol} for calls,
 * connect errors and reply checks, {@link ReplyBuffer} for receiving a reply in bounded pieces).
 *
 * <p>The sandbox is untrusted, so every call is bounded: one deadline covers connecting, writing and
 * reading (the socket is non-blocking and waits in a {@link Selector}, so a sandbox that stalls anywhere
 * cannot hold the caller past it), and the reply may not grow beyond a maximum size. Socket paths of 108
 * bytes or more, which {@code connect(2)} cannot take, are reached through an {@code O_PATH} descriptor and
 * its {@code /proc/self/fd/N} name, as runsc does.
 *
 * <p>Thread-safe: the methods are static and share nothing.
 */
public final class BlockingControlClient {
  /** runsc's metric server allows each sandbox at least 8 s per export. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(8);
  /**
   * Eight times the largest reply gVisor's registered metrics can make, far below harm: about 1 MiB with
   * every field combination present and every number at its widest (2,002 {@code /unimplemented_syscalls}
   * values, 6 x 101 socket options, about 150 plain counters, each data point ~230 bytes; README).
   */
  public static final int DEFAULT_MAX_REPLY_BYTES = 8 << 20;

  private static final int READ_BYTES = 64 << 10;

  private BlockingControlClient() {}

  /**
   * Calls {@code Metrics.Export} and returns the checked snapshot.
   *
   * @param filter {@code only_metrics}; the reply is checked against it
   * @param timeout for the whole call: connect, write and read
   * @param maxReplyBytes the largest reply accepted
   * @throws ControlException for every failure, with its {@link ControlException.Kind}
   */
  public static Snapshot export(Path socket, MetricNameFilter filter, Duration timeout, int maxReplyBytes)
      throws ControlException {
    return export(socket, filter, deadlineAfter(timeout), maxReplyBytes);
  }

  /**
   * As {@link #export(Path, MetricNameFilter, Duration, int)}, with a deadline on the {@link System#nanoTime()}
   * clock, for callers that spend one deadline on several steps.
   */
  public static Snapshot export(Path socket, MetricNameFilter filter, long deadlineNanos, int maxReplyBytes)
      throws ControlException {
    Reply reply = call(socket, ControlProtocol.exportCall(filter), deadlineNanos, maxReplyBytes);
    return ControlProtocol.decodeExportReply(reply.bytes, 0, reply.length, filter, socket);
  }

  /** {@link System#nanoTime()} plus {@code timeout}, saturating. */
  public static long deadlineAfter(Duration timeout) {
    long now = System.nanoTime();
    long nanos;
    try {
      nanos = timeout.toNanos();
    } catch (ArithmeticException e) {
      nanos = Long.MAX_VALUE / 2;
    }
    return now + Math.min(Math.max(nanos, 0), Long.MAX_VALUE / 2);
  }

  /** The bytes of one complete JSON reply, {@code bytes[0, length)}. */
  private record Reply(byte[] bytes, int length) {}

  private static Reply call(Path socket, byte[] request, long deadlineNanos, int maxReplyBytes)
      throws ControlException {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS) && !Files.exists(socket)) {
      throw new ControlException(ControlException.Kind.SOCKET_MISSING, socket, "does not exist");
    }
    while (true) {
      // A connect(2) that fails leaves the channel closed: each attempt gets a new one.
      try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
          Selector selector = Selector.open()) {
        channel.configureBlocking(false);
        if (!connect(channel, selector, socket, deadlineNanos)) {
          sleepNanos(socket, ControlProtocol.BACKLOG_RETRY_NANOS);
          continue;
        }
        write(channel, selector, socket, request, deadlineNanos);
        return read(channel, selector, socket, deadlineNanos, maxReplyBytes);
      } catch (IOException e) {
        throw new ControlException(ControlException.Kind.IO_ERROR, socket, describe(e), e);
      }
    }
  }

  /**
   * Connects; false when the listen backlog is full (a stalled sandbox that does not accept) and there is
   * time to try again: the caller waits {@link ControlProtocol#BACKLOG_RETRY_NANOS}, as the event-driven
   * client does.
   */
  private static boolean connect(SocketChannel channel, Selector selector, Path socket, long deadlineNanos)
      throws ControlException, IOException {
    boolean connected;
    try {
      connected = connectOnce(channel, socket);
    } catch (SocketException e) {
      if (ControlProtocol.isBacklogFull(e)) {
        if (System.nanoTime() + ControlProtocol.BACKLOG_RETRY_NANOS - deadlineNanos > 0) {
          throw timedOut(socket, "connecting: the sandbox does not accept connections (listen backlog full)");
        }
        return false;
      }
      throw ControlProtocol.connectFailure(socket, e);
    }
    if (connected) {
      return true;
    }
    channel.register(selector, SelectionKey.OP_CONNECT);
    while (!channel.finishConnect()) {
      awaitReady(selector, socket, deadlineNanos, "connecting");
    }
    return true;
  }

  /** Starts the connection; long paths go through an O_PATH descriptor that is closed right after. */
  private static boolean connectOnce(SocketChannel channel, Path socket) throws IOException, ControlException {
    if (!PathHandle.tooLongForSocket(socket)) {
      return channel.connect(UnixDomainSocketAddress.of(socket));
    }
    PathHandle handle;
    try {
      handle = PathHandle.open(socket);
    } catch (NoSuchFileException e) {
      throw new ControlException(ControlException.Kind.SOCKET_MISSING, socket, "does not exist", e);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new ControlException(ControlException.Kind.PERMISSION_DENIED, socket, "permission denied", e);
    }
    try (handle) {
      return channel.connect(UnixDomainSocketAddress.of(handle.procPath()));
    }
  }

  private static void write(SocketChannel channel, Selector selector, Path socket, byte[] request,
      long deadlineNanos) throws ControlException, IOException {
    ByteBuffer buf = ByteBuffer.wrap(request);
    SelectionKey key = channel.keyFor(selector);
    while (buf.hasRemaining()) {
      try {
        if (channel.write(buf) > 0) {
          continue;
        }
      } catch (IOException e) {
        // A sandbox that closes before reading the call makes the write fail with EPIPE/ECONNRESET.
        throw new ControlException(ControlException.Kind.CLOSED_WITHOUT_REPLY, socket,
            "the sandbox closed the connection before reading the call (" + describe(e) + ")", e);
      }
      key = interest(channel, selector, key, SelectionKey.OP_WRITE);
      awaitReady(selector, socket, deadlineNanos, "sending the call");
    }
  }

  private static Reply read(SocketChannel channel, Selector selector, Path socket, long deadlineNanos,
      int maxReplyBytes) throws ControlException, IOException {
    ReplyBuffer reply = new ReplyBuffer(maxReplyBytes, 0, ReplyBudget.UNLIMITED, socket);
    ByteBuffer piece = ByteBuffer.allocate(Math.min(READ_BYTES, maxReplyBytes + 1));
    interest(channel, selector, channel.keyFor(selector), SelectionKey.OP_READ);
    while (true) {
      piece.clear();
      int n;
      try {
        n = channel.read(piece);
      } catch (IOException e) {
        throw closedEarly(socket, reply.received(), describe(e), e);
      }
      if (n < 0) {
        throw closedEarly(socket, reply.received(), null, null);
      }
      if (n == 0) {
        int length = reply.received();
        awaitReady(selector, socket, deadlineNanos,
            length == 0 ? "waiting for the reply" : "reading the reply (" + length + " bytes so far)");
        continue;
      }
      piece.flip();
      reply.reserve(n);
      // Anything after the reply would belong to a next call we never made; it is ignored.
      if (reply.append((dst, off, m) -> piece.get(dst, off, m), n)) {
        return new Reply(reply.bytes(), reply.length());
      }
    }
  }

  private static ControlException closedEarly(Path socket, int received, String why, Throwable cause) {
    return ControlProtocol.closedEarly(socket, received, why, cause);
  }

  private static SelectionKey interest(SocketChannel channel, Selector selector, SelectionKey key, int ops)
      throws IOException {
    if (key == null) {
      return channel.register(selector, ops);
    }
    key.interestOps(ops);
    return key;
  }

  private static void awaitReady(Selector selector, Path socket, long deadlineNanos, String doing)
      throws ControlException, IOException {
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      throw timedOut(socket, doing);
    }
    // select(timeout) takes milliseconds and treats 0 as "forever": round up.
    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining + 999_999)));
    selector.selectedKeys().clear();
    if (Thread.interrupted()) {
      Thread.currentThread().interrupt();
      throw new ControlException(ControlException.Kind.IO_ERROR, socket, "interrupted while " + doing);
    }
  }

  private static ControlException timedOut(Path socket, String what) {
    return new ControlException(ControlException.Kind.TIMED_OUT, socket, "timed out " + what);
  }

  private static void sleepNanos(Path socket, long nanos) throws ControlException {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ControlException(ControlException.Kind.IO_ERROR, socket, "interrupted while connecting", e);
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m;
  }
}
