package dev.sandboxmetrics.metricserver.http;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a connection's pipeline: turns each complete request into an {@link Exchange} and
 * hands it to the endpoint for its path, one request at a time (pipelined requests wait their turn, so
 * responses never interleave; more than {@value #MAX_PIPELINED} waiting get 429). It also enforces the
 * request timeouts, like runsc's one-minute read and write timeouts: a connection that does not deliver a
 * complete request within the timeout (including an idle keep-alive connection) is closed, and so is one
 * whose response makes no progress (the client takes nothing) for the timeout.
 *
 * <p>Rules that hold for every endpoint live here: 503 while shutting down, 404 for unknown paths, 405 for
 * methods an endpoint does not take, 400 for requests that do not parse, 505 for HTTP versions other than
 * 1.x, and Prometheus' escaped {@code /metrics%3F...} form.
 */
final class Router extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(Router.class);
  private static final String METRICS_QUERY_PREFIX = "/metrics?";

  /**
   * Most requests a client may have waiting behind the one being answered. Prometheus never pipelines; the
   * bound keeps a client from making us hold its requests without end. The request after them is answered
   * 429 and the connection closed (after the earlier ones are answered).
   */
  static final int MAX_PIPELINED = 16;

  private final Routes routes;
  private final Duration timeout;
  private final ResponseBudget budget;
  /** Netty's compressor of this connection, which knows who gets gzip; null when compression is off. */
  private final GzipNegotiation gzip;
  private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
  private boolean busy;
  /** More requests arrived than {@link #MAX_PIPELINED}: answer 429 after the waiting ones, then close. */
  private boolean tooMany;
  private ScheduledFuture<?> deadline;
  private Connections.State state = new Connections.State();

  Router(Routes routes, Duration timeout, ResponseBudget budget, GzipNegotiation gzip) {
    this.routes = routes;
    this.timeout = timeout;
    this.budget = budget;
    this.gzip = gzip;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    Connections.State s = ctx.channel().attr(Connections.STATE).get();
    if (s != null) {
      state = s;
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    armDeadline(ctx, "no complete request");
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelDeadline();
    // The client is gone, so the request being answered is no longer in flight, whether or not its endpoint
    // still answers (into the closed channel) or never does: profile-cpu drops a recording whose client left
    // and sends nothing. Left counted, it held every later shutdown for its whole grace period.
    endRequest();
    FullHttpRequest r;
    while ((r = waiting.poll()) != null) {
      r.release();
    }
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    FullHttpRequest request = (FullHttpRequest) msg;
    if (state.closing || tooMany) {
      // Answered already (a final error response, or 429 is coming): drain without reading more into memory.
      request.release();
      return;
    }
    if (busy) {
      if (waiting.size() >= MAX_PIPELINED) {
        request.release();
        tooMany = true;
        return;
      }
      waiting.add(request);
      ctx.channel().config().setAutoRead(false);
      return;
    }
    serve(ctx, request);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("Connection {}: {}", ctx.channel(), cause.toString());
    ctx.close();
  }

  private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
    busy = true;
    state.busy = true;
    state.lastProgress = System.nanoTime();
    routes.requestStarted();
    armResponseDeadline(ctx);
    Exchange exchange;
    try {
      exchange = exchangeFor(ctx, request);
    } catch (IllegalArgumentException e) {
      exchange = null;
      Exchange bad = badRequest(ctx, request);
      bad.respondError(HttpResponseStatus.BAD_REQUEST, "bad request: " + e.getMessage());
    } finally {
      request.release();
    }
    if (exchange != null) {
      dispatch(exchange);
    }
  }

  private void dispatch(Exchange exchange) {
    log.debug("Request: {} {}", exchange.method(), exchange.path());
    if (routes.shuttingDown()) {
      exchange.respondError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server is shutting down");
      return;
    }
    Routes.Route route = routes.find(exchange.path());
    if (route == null) {
      exchange.respondError(HttpResponseStatus.NOT_FOUND, "path not found");
      return;
    }
    if (!route.methods().contains(exchange.method())) {
      exchange.respond(
          HttpResponseStatus.METHOD_NOT_ALLOWED,
          Exchange.TEXT,
          ("method " + exchange.method() + " not allowed on " + exchange.path() + "\n").getBytes(),
          Map.of(HttpHeaderNames.ALLOW.toString(), route.allowHeader()));
      return;
    }
    try {
      route.endpoint().handle(exchange);
    } catch (RuntimeException e) {
      log.warn("Request: {} {}: failed: {}", exchange.method(), exchange.path(), e.toString(), e);
      if (!exchange.answered()) {
        exchange.respondError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
      }
    }
  }

  private Exchange exchangeFor(ChannelHandlerContext ctx, FullHttpRequest request) {
    DecoderResult result = request.decoderResult();
    if (result.isFailure()) {
      Throwable cause = result.cause();
      HttpResponseStatus status =
          cause instanceof TooLongHttpLineException
              ? HttpResponseStatus.REQUEST_URI_TOO_LONG
              : cause instanceof TooLongHttpHeaderException
                  ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                  : HttpResponseStatus.BAD_REQUEST;
      Exchange bad = badRequest(ctx, request);
      bad.respondError(status, "bad request: " + cause.getMessage());
      return null;
    }
    HttpVersion version = request.protocolVersion();
    if (!version.protocolName().equals("HTTP") || version.majorVersion() != 1) {
      // As Go's server: only HTTP/1.x is spoken here.
      Exchange bad = badRequest(ctx, request);
      bad.respondError(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported protocol version " + version.text());
      return null;
    }
    QueryStringDecoder uri = new QueryStringDecoder(request.uri());
    String path = uri.path();
    Map<String, List<String>> query = uri.parameters();
    if (path.startsWith(METRICS_QUERY_PREFIX)) {
      // Prometheus' metrics_path escapes '?', so "/metrics?a=b" arrives as "/metrics%3Fa=b". Like runsc,
      // serve it as /metrics with the decoded rest as its query (any real query is then ignored).
      query = new QueryStringDecoder(path.substring(METRICS_QUERY_PREFIX.length()), false).parameters();
      path = "/metrics";
    }
    String contentType = request.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
    boolean keepAlive = HttpUtil.isKeepAlive(request) && !routes.shuttingDown();
    Exchange exchange = new Exchange(
        ctx,
        request.method(),
        path,
        query,
        contentType,
        ByteBufUtil.getBytes(request.content()),
        keepAlive,
        !request.protocolVersion().equals(HttpVersion.HTTP_1_0),
        budget,
        state,
        () -> completed(ctx));
    exchange.accept(request.headers().get(HttpHeaderNames.ACCEPT));
    if (gzip != null) {
      exchange.gzipLevel(gzip.gzipLevelFor(request.headers().get(HttpHeaderNames.ACCEPT_ENCODING)));
    }
    return exchange;
  }

  private Exchange badRequest(ChannelHandlerContext ctx, FullHttpRequest request) {
    return new Exchange(
        ctx, request.method(), "", Map.of(), "", new byte[0], false, false, budget, state, () -> completed(ctx));
  }

  /** On the event loop, when a response has gone out: serve the next waiting request, or read again. */
  private void completed(ChannelHandlerContext ctx) {
    if (!endRequest()) {
      // The connection closed before the response went out: the request was ended then.
      return;
    }
    if (!ctx.channel().isActive() || state.closing) {
      cancelDeadline();
      return;
    }
    FullHttpRequest next = waiting.poll();
    if (next != null) {
      serve(ctx, next);
      return;
    }
    if (tooMany) {
      busy = true;
      state.busy = true;
      routes.requestStarted();
      armResponseDeadline(ctx);
      new Exchange(ctx, HttpMethod.GET, "", Map.of(), "", new byte[0], false, false, budget, state, () -> completed(ctx))
          .respondError(
              HttpResponseStatus.TOO_MANY_REQUESTS,
              "too many pipelined requests: at most " + (MAX_PIPELINED + 1) + " may be outstanding on a connection");
      return;
    }
    armDeadline(ctx, "no complete request");
    ctx.channel().config().setAutoRead(true);
  }

  /**
   * Ends the request being answered, once: when its response has gone out or when the connection closes,
   * whichever comes first. False when no request was being answered (it was ended already).
   */
  private boolean endRequest() {
    if (!busy) {
      return false;
    }
    busy = false;
    state.busy = false;
    state.idleSince = System.nanoTime();
    routes.requestEnded();
    return true;
  }

  private void armDeadline(ChannelHandlerContext ctx, String what) {
    cancelDeadline();
    deadline =
        ctx.executor()
            .schedule(
                () -> {
                  log.debug("Closing {}: {} within {}s.", ctx.channel(), what, timeout.toSeconds());
                  ctx.close();
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
  }

  /**
   * While a response is being answered: close the connection once it has made no progress (nothing taken
   * by the client) for the timeout. A response that keeps flowing may take longer.
   */
  private void armResponseDeadline(ChannelHandlerContext ctx) {
    cancelDeadline();
    scheduleProgressCheck(ctx, timeout.toNanos());
  }

  private void scheduleProgressCheck(ChannelHandlerContext ctx, long delayNanos) {
    deadline =
        ctx.executor()
            .schedule(
                () -> {
                  if (!busy) {
                    return;
                  }
                  long quiet = System.nanoTime() - state.lastProgress;
                  if (quiet < timeout.toNanos()) {
                    scheduleProgressCheck(ctx, timeout.toNanos() - quiet);
                    return;
                  }
                  log.debug("Closing {}: response made no progress within {}s.", ctx.channel(), timeout.toSeconds());
                  ctx.close();
                },
                delayNanos,
                TimeUnit.NANOSECONDS);
  }

  private void cancelDeadline() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
