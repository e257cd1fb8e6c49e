package dev.sandboxmetrics.simulator.urpc;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sandbox's listening control socket and its open connections, served by one {@link EventLoop}.
 * Closing it is what a dying sandbox does: the listener and every connection go away (clients see EOF or
 * ECONNREFUSED); the socket file stays on disk, as it does when a real sandbox process dies.
 */
public final class Binding implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Binding.class);

  private final EventLoop loop;
  private final ServerSocketChannel server;
  private final Path path;
  private final ControlHandler handler;
  private final Set<Connection> connections = new HashSet<>();
  private final java.util.concurrent.atomic.AtomicLong accepted = new java.util.concurrent.atomic.AtomicLong();
  private SelectionKey key;
  private boolean closed;

  Binding(EventLoop loop, ServerSocketChannel server, Path path, ControlHandler handler) {
    this.loop = loop;
    this.server = server;
    this.path = path;
    this.handler = handler;
  }

  void register() throws ClosedChannelException {
    key = server.register(loop.selector(), SelectionKey.OP_ACCEPT, this);
  }

  /** The socket file this binding listens on. */
  public Path path() {
    return path;
  }

  /** Connections open right now (for tests that check that a stalled client is let go). */
  public int openConnections() {
    return await(loop.submit(connections::size));
  }

  /** Connections accepted since binding (tests check that a client keeps its connection between calls). */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** Stops listening and drops every connection; waits until that is done. Idempotent. */
  @Override
  public void close() {
    await(
        loop.submit(
            () -> {
              closeOnLoop();
              return null;
            }));
  }

  EventLoop loop() {
    return loop;
  }

  ControlHandler handler() {
    return handler;
  }

  void onAcceptable() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        log.warn("accept on {} failed", path, e);
        return;
      }
      if (ch == null) {
        return;
      }
      try {
        ch.configureBlocking(false);
        Connection c = new Connection(this, ch);
        c.register();
        connections.add(c);
        accepted.incrementAndGet();
      } catch (IOException e) {
        log.warn("cannot set up a connection on {}", path, e);
        closeQuietly(ch);
      }
    }
  }

  void removed(Connection c) {
    connections.remove(c);
  }

  void closeOnLoop() {
    if (closed) {
      return;
    }
    closed = true;
    if (key != null) {
      key.cancel();
    }
    closeQuietly(server);
    for (Connection c : new ArrayList<>(connections)) {
      c.close();
    }
    connections.clear();
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      log.debug("close", e);
    }
  }

  private <T> T await(java.util.concurrent.CompletableFuture<T> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the control socket loop", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("control socket " + path + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("control socket loop did not respond for " + path, e);
    }
  }
}
