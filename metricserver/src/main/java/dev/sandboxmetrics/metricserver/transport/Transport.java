package dev.sandboxmetrics.metricserver.transport;

import dev.sandboxmetrics.metricserver.server.UserMessages;
import dev.sandboxmetrics.posix.PathHandle;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that knows which Netty transport we run on and how to listen and connect with it: native
 * epoll when it loads, NIO otherwise (logged with the reason). The HTTP server and the control-socket client
 * get their event loops, channels and socket addresses from here, so no handler knows whether it runs on
 * TCP or a Unix socket, epoll or NIO.
 *
 * <p>Setting the system property {@code sandboxmetrics.transport=nio} forces NIO: the metricserver module's
 * build runs its tests a second time with it (see its pom), so the fallback is tested too.
 */
public final class Transport {
  private static final Logger log = LoggerFactory.getLogger(Transport.class);
  private static final int BACKLOG = 1024;
  /** How far off the task that keeps an idle event loop asleep is (see {@link #newEventLoopGroup}). */
  private static final long IDLE_TICK_HOURS = 1;

  private final boolean epoll;

  private Transport(boolean epoll) {
    this.epoll = epoll;
  }

  /** Native epoll when available, NIO otherwise. */
  public static Transport detect() {
    if ("nio".equals(System.getProperty("sandboxmetrics.transport"))) {
      log.info("Using the NIO transport, as asked by -Dsandboxmetrics.transport=nio.");
      return new Transport(false);
    }
    if (Epoll.isAvailable()) {
      return new Transport(true);
    }
    Throwable cause = Epoll.unavailabilityCause();
    log.warn("Native epoll transport unavailable ({}); falling back to NIO.", cause == null ? "unknown reason" : cause.toString());
    return new Transport(false);
  }

  public boolean isEpoll() {
    return epoll;
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }

  /**
   * An event loop group of {@code threads} threads named {@code <name>-N}, daemon threads, whose loops sleep
   * while there is nothing to do.
   *
   * <p>A Netty 4.2 loop with no scheduled task waits for I/O at most one second
   * ({@code SingleThreadEventExecutor.deadlineNanos()} falls back to {@code SCHEDULE_PURGE_INTERVAL}), so an
   * idle loop wakes up every second for nothing, 15 to 30 times between two scrapes, and a wake-up is not
   * free where the node is itself a virtual machine (measured here ~0.2 ms of CPU each). Each loop therefore
   * always has one task on its calendar, a no-op every {@link #IDLE_TICK_HOURS} hours: a loop then sleeps
   * until I/O, a task or its next real timer.
   */
  public EventLoopGroup newEventLoopGroup(int threads, String name) {
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    for (EventExecutor loop : group) {
      loop.scheduleAtFixedRate(Transport::idleTick, IDLE_TICK_HOURS, IDLE_TICK_HOURS, TimeUnit.HOURS);
    }
    return group;
  }

  private static void idleTick() {
    // Nothing: being on the calendar is the point.
  }

  /** Binds a TCP listener; the returned future completes when the port is bound. */
  public ChannelFuture bindTcp(ServerBootstrap bootstrap, InetSocketAddress address) {
    return bootstrap
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .bind(address);
  }

  /**
   * Binds a Unix socket listener at {@code path}. The caller owns the socket file: it decides beforehand
   * whether the path may be used and removes the file afterwards (with epoll the channel never deletes it;
   * NIO's channel deletes its bound path on close, which {@link UnixSocketFile} tolerates).
   *
   * <p>A path too long for {@code sockaddr_un} is bound through {@code /proc/self/fd/N/<name>} of its
   * directory, as runsc does for connecting.
   *
   * @throws IOException when binding fails (e.g. the path exists), naming the path
   */
  public ChannelFuture bindUnix(ServerBootstrap bootstrap, Path path) throws IOException {
    PathHandle dir = null;
    Path bindPath = path;
    if (PathHandle.tooLongForSocket(path)) {
      Path parent = path.getParent();
      dir = PathHandle.open(parent);
      bindPath = dir.procPath().resolve(path.getFileName());
    }
    try {
      if (epoll) {
        // Bound here rather than by the channel: Netty's epoll server channel deletes the path it bound on
        // close, even when the file there is no longer ours. A channel made from a bound descriptor does not.
        Socket socket = Socket.newSocketDomain();
        try {
          socket.bind(new DomainSocketAddress(bindPath.toString()));
          socket.listen(BACKLOG);
        } catch (IOException e) {
          socket.close();
          throw new IOException("cannot listen on Unix socket " + path + ": " + UserMessages.bindReason(e), e);
        }
        int fd = socket.intValue();
        return bootstrap.channelFactory(() -> new EpollServerDomainSocketChannel(fd, true)).register();
      }
      ChannelFuture bound =
          bootstrap.channel(NioServerDomainSocketChannel.class).bind(UnixDomainSocketAddress.of(bindPath));
      bound.awaitUninterruptibly();
      if (!bound.isSuccess()) {
        throw new IOException(
            "cannot listen on Unix socket " + path + ": " + UserMessages.bindReason(bound.cause()), bound.cause());
      }
      return bound;
    } finally {
      if (dir != null) {
        dir.close();
      }
    }
  }

  /** A bootstrap for client connections to Unix sockets (sandbox control sockets) on {@code group}. */
  public Bootstrap domainSocketClient(EventLoopGroup group) {
    Class<? extends Channel> type = epoll ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
    return new Bootstrap().group(group).channel(type);
  }

  /** The socket address this transport's domain-socket channels connect to. */
  public SocketAddress domainSocketAddress(Path path) {
    return epoll ? new DomainSocketAddress(path.toString()) : UnixDomainSocketAddress.of(path);
  }
}
