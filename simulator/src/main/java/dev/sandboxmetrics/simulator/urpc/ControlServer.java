package dev.sandboxmetrics.simulator.urpc;

import dev.sandboxmetrics.posix.PathHandle;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The control sockets of every simulated sandbox, served by a small fixed number of selector threads
 * whatever the number of sandboxes or connections: a thousand sandboxes, each with a stalled client, cost no
 * more threads than one. Each sandbox binds its socket with {@link #bind} and gets a {@link Binding}.
 *
 * <p>Created by the {@code Simulator}; tests use it directly only to test the protocol layer.
 */
public final class ControlServer implements AutoCloseable {
  private final EventLoop[] loops;
  private final AtomicInteger next = new AtomicInteger();

  private ControlServer(int threads) {
    loops = new EventLoop[threads];
    for (int i = 0; i < threads; i++) {
      loops[i] = new EventLoop("simulator-control-" + i);
      loops[i].start();
    }
  }

  /** Starts {@code threads} selector threads (1 or 2 is plenty). */
  public static ControlServer start(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    return new ControlServer(threads);
  }

  /**
   * Listens on a stream Unix socket at {@code socketPath} and answers its calls with {@code handler}. The
   * parent directory must exist and the path must not. A path too long for {@code sockaddr_un} is bound
   * through {@code /proc/self/fd/N/NAME} of its directory, as a real sandbox in a deep root must be.
   */
  public Binding bind(Path socketPath, ControlHandler handler) throws IOException {
    Path bindPath = socketPath;
    PathHandle dir = null;
    if (PathHandle.tooLongForSocket(socketPath)) {
      Path parent = socketPath.toAbsolutePath().getParent();
      dir = PathHandle.open(parent);
      bindPath = dir.procPath().resolve(socketPath.getFileName());
    }
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(bindPath), 512);
      server.configureBlocking(false);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on control socket " + socketPath + ": " + e.getMessage(), e);
    } finally {
      if (dir != null) {
        dir.close();
      }
    }
    EventLoop loop = loops[Math.floorMod(next.getAndIncrement(), loops.length)];
    Binding binding = new Binding(loop, server, socketPath, handler);
    try {
      loop.submit(
              () -> {
                try {
                  binding.register();
                } catch (IOException e) {
                  throw new IllegalStateException(e.getMessage(), e);
                }
                return null;
              })
          .get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.close();
      throw new IOException("interrupted while registering " + socketPath, e);
    } catch (ExecutionException | TimeoutException e) {
      server.close();
      throw new IOException("cannot register control socket " + socketPath + ": " + e, e);
    }
    return binding;
  }

  /** Closes every binding and connection and stops the threads. */
  @Override
  public void close() {
    for (EventLoop loop : loops) {
      loop.close();
    }
  }
}
