package dev.sandboxmetrics.metricserver.http;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.sandboxmetrics.metricserver.server.UserMessages;
import dev.sandboxmetrics.metricserver.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/1.1 server: a bootstrap, the pipeline every connection gets, and the listening channels. The
 * pipeline bounds what a client can make us hold (request line, headers, body), compresses responses with
 * gzip when the client asks for it, and ends in the {@link Router}. Listeners on TCP and on Unix sockets
 * share the pipeline; the {@link Transport} decides the channel types.
 *
 * <p>Used by the metric server, which owns the event loops and decides what listens where.
 */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);
  /** Longest request line: long enough for a generous filter regex in the query. */
  static final int MAX_INITIAL_LINE = 16 * 1024;

  static final int MAX_HEADER_BYTES = 16 * 1024;
  /** Largest request body: the healthcheck form is the only body we read. */
  static final int MAX_BODY_BYTES = 64 * 1024;

  private final Transport transport;
  private final ServerBootstrap bootstrap;
  private final ChannelGroup listeners = new DefaultChannelGroup("listeners", GlobalEventExecutor.INSTANCE);
  private final Connections connections;
  private final ResponseBudget budget;

  /** A server with the default connection policy (tests). */
  public HttpServer(Transport transport, EventLoopGroup group, Routes routes, Duration timeout, int gzipLevel) {
    this(transport, group, routes, timeout, gzipLevel, ConnectionPolicy.DEFAULT, ResponseBudget.defaultLimit());
  }

  /**
   * @param gzipLevel gzip level for clients that accept gzip (1 fastest to 9 smallest), 0 to never compress
   * @param policy the connection limit and the Unix-socket caller allow-list
   */
  public HttpServer(
      Transport transport, EventLoopGroup group, Routes routes, Duration timeout, int gzipLevel, ConnectionPolicy policy) {
    this(transport, group, routes, timeout, gzipLevel, policy, ResponseBudget.defaultLimit());
  }

  HttpServer(
      Transport transport,
      EventLoopGroup group,
      Routes routes,
      Duration timeout,
      int gzipLevel,
      ConnectionPolicy policy,
      long responseBudgetBytes) {
    if (policy.checksPeers() && !transport.isEpoll()) {
      throw new IllegalStateException(
          "--allow-peer-uid/--allow-peer-gid need the native epoll transport to read the caller's credentials "
              + "(SO_PEERCRED), and it is not available here (" + transport.name() + ")");
    }
    this.transport = transport;
    this.connections = new Connections(policy, effectiveMaxConnections(policy.maxConnections()));
    this.budget = new ResponseBudget(responseBudgetBytes);
    this.bootstrap =
        new ServerBootstrap()
            .group(group)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    // Before the first read: a refused caller never gets a byte read or a handler added.
                    if (!connections.admit(ch)) {
                      return;
                    }
                    ChannelPipeline p = ch.pipeline();
                    p.addLast(new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_BYTES, 8192));
                    GzipNegotiation gzip = null;
                    if (gzipLevel > 0) {
                      gzip = new GzipNegotiation(gzipLevel);
                      p.addLast(gzip);
                    }
                    p.addLast(new HttpObjectAggregator(MAX_BODY_BYTES));
                    p.addLast(new Router(routes, timeout, budget, gzip));
                  }
                });
  }

  /**
   * The connection limit actually used: the asked one, but at most half the process's descriptor limit, so
   * that however many clients connect, half the descriptors stay for sandboxes' sockets, the root directory
   * and the JVM's own files.
   */
  static int effectiveMaxConnections(int asked) {
    long fdLimit = -1;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
      fdLimit = unix.getMaxFileDescriptorCount();
    }
    if (fdLimit <= 0 || asked <= fdLimit / 2) {
      return asked;
    }
    int lowered = (int) Math.max(1, fdLimit / 2);
    log.info(
        "Serving at most {} connections instead of {} (--max-connections): the process may open only {} files.",
        lowered,
        asked,
        fdLimit);
    return lowered;
  }

  /** The client connections, with what was refused (for the meta metrics). */
  public Connections connections() {
    return connections;
  }

  /** Listens on a TCP address; returns the bound address (with the real port when 0 was asked). */
  public InetSocketAddress listenTcp(InetSocketAddress address) throws IOException {
    ChannelFuture bound = transport.bindTcp(bootstrap.clone(), address).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      Throwable cause = bound.cause();
      throw new IOException("cannot listen on TCP address " + UserMessages.hostPort(address) + ": "
          + UserMessages.bindReason(cause), cause);
    }
    listeners.add(bound.channel());
    SocketAddress local = bound.channel().localAddress();
    return (InetSocketAddress) local;
  }

  /** Listens on a Unix socket; the caller manages the socket file (see UnixSocketFile). */
  public void listenUnix(Path path) throws IOException {
    ChannelFuture registered = transport.bindUnix(bootstrap.clone(), path).awaitUninterruptibly();
    if (!registered.isSuccess()) {
      Throwable cause = registered.cause();
      throw new IOException("cannot listen on Unix socket " + path + ": " + UserMessages.bindReason(cause), cause);
    }
    listeners.add(registered.channel());
  }

  /** Stops accepting connections; open connections stay. */
  public void stopAccepting() {
    listeners.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** Number of open client connections. */
  public int openConnections() {
    return connections.size();
  }

  /** Bytes of responses queued for clients that have not taken them yet. */
  long pendingResponseBytes() {
    return budget.pending();
  }

  /** Closes every client connection. */
  public void closeConnections() {
    connections.group().close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
