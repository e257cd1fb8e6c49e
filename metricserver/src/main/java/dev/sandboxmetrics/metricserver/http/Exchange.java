package dev.sandboxmetrics.metricserver.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP request and the means to answer it exactly once, from any thread: a whole response at once, or a
 * streamed body ({@link #startStream}). Endpoints receive an exchange from the {@link Router}; they never see
 * the channel, so they do not know whether it is TCP or a Unix socket.
 *
 * <p>The request's body, path and query are copied out of Netty's buffers when the exchange is made, so an
 * endpoint may use them after the request message was released.
 */
public final class Exchange {
  static final String TEXT = "text/plain; charset=utf-8";

  private final ChannelHandlerContext ctx;
  private final HttpMethod method;
  private final String path;
  private final Map<String, List<String>> query;
  private final String contentType;
  private final byte[] body;
  private final boolean chunkedAllowed;
  private volatile boolean keepAlive;
  private final ResponseBudget budget;
  private final Connections.State state;
  private final Runnable onComplete;
  private final AtomicBoolean answered = new AtomicBoolean();
  private final AtomicBoolean completed = new AtomicBoolean();
  private volatile String accept = "";
  private volatile int gzipLevel;

  Exchange(
      ChannelHandlerContext ctx,
      HttpMethod method,
      String path,
      Map<String, List<String>> query,
      String contentType,
      byte[] body,
      boolean keepAlive,
      boolean chunkedAllowed,
      ResponseBudget budget,
      Connections.State state,
      Runnable onComplete) {
    this.ctx = ctx;
    this.method = method;
    this.path = path;
    this.query = query;
    this.contentType = contentType;
    this.body = body;
    this.keepAlive = keepAlive;
    this.chunkedAllowed = chunkedAllowed;
    this.budget = budget;
    this.state = state;
    this.onComplete = onComplete;
  }

  public HttpMethod method() {
    return method;
  }

  /** The decoded path, after the {@code /metrics%3F} rewrite. */
  public String path() {
    return path;
  }

  /** The request's Accept header, or "" (for endpoints that negotiate their format). */
  public String accept() {
    return accept;
  }

  void accept(String value) {
    accept = value == null ? "" : value;
  }

  /**
   * The gzip level to compress this response's body with when the endpoint compresses it itself
   * ({@link #startStream(String, boolean)}), or 0 when the client does not take gzip or compression is off.
   */
  public int gzipLevel() {
    return gzipLevel;
  }

  void gzipLevel(int level) {
    gzipLevel = level;
  }

  /** The first value of a query parameter, or "" (Go's {@code URL.Query().Get}). */
  public String queryParameter(String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? "" : values.get(0);
  }

  public Map<String, List<String>> query() {
    return query;
  }

  /** The request's Content-Type header, or "". */
  public String contentType() {
    return contentType;
  }

  /** The request body (bounded by the aggregator). */
  public byte[] body() {
    return body;
  }

  /** Answers with a whole body. */
  public void respond(HttpResponseStatus status, String contentType, String text) {
    respond(status, contentType, text.getBytes(StandardCharsets.UTF_8), Map.of());
  }

  /** Answers with a whole body and extra headers. */
  public void respond(HttpResponseStatus status, String contentType, byte[] content, Map<String, String> headers) {
    if (!answered.compareAndSet(false, true)) {
      throw new IllegalStateException("response already started for " + path);
    }
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(content));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    headers.forEach((k, v) -> response.headers().set(k, v));
    HttpUtil.setContentLength(response, content.length);
    setConnection(response);
    ctx.writeAndFlush(response).addListener(this::finished);
  }

  /** Answers with an error: a text/plain body holding the message, as runsc does. */
  public void respondError(HttpResponseStatus status, String message) {
    respond(status, TEXT, message + "\n");
  }

  /**
   * Starts a streamed (chunked) 200 response and returns its body. The caller writes the body from a thread
   * that may block (never the event loop) and closes it; a failure while writing aborts the connection,
   * because the status line has gone out already.
   */
  public StreamingBody startStream(String contentType) {
    return startStream(contentType, false);
  }

  /**
   * As {@link #startStream(String)}; with {@code gzipped} the caller writes a body it compressed itself
   * (only when {@link #gzipLevel()} is not 0): the response says Content-Encoding: gzip, and the pipeline's
   * compressor leaves it as it is.
   */
  public StreamingBody startStream(String contentType, boolean gzipped) {
    if (gzipped && gzipLevel == 0) {
      throw new IllegalStateException("the client did not ask for gzip, or compression is off");
    }
    if (!answered.compareAndSet(false, true)) {
      throw new IllegalStateException("response already started for " + path);
    }
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    if (gzipped) {
      response.headers().set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
    }
    if (chunkedAllowed) {
      HttpUtil.setTransferEncodingChunked(response, true);
    } else {
      // An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
      keepAlive = false;
    }
    setConnection(response);
    ctx.writeAndFlush(response);
    return new StreamingBody(ctx, this, budget, state, gzipped);
  }

  /** Runs {@code action} (on the event loop) when the client's connection closes, at once if it is closed. */
  public void whenConnectionClosed(Runnable action) {
    ctx.channel().closeFuture().addListener(f -> action.run());
  }

  /** True once a response was started. */
  public boolean answered() {
    return answered.get();
  }

  /** Called by {@link StreamingBody} when the last chunk went out (or the stream was aborted). */
  void streamEnded(ChannelFuture lastWrite, boolean aborted) {
    if (aborted) {
      ctx.close();
      complete();
      return;
    }
    lastWrite.addListener(this::finished);
  }

  private void setConnection(HttpResponse response) {
    if (keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    } else {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }

  private void finished(io.netty.util.concurrent.Future<? super Void> write) {
    if (!write.isSuccess()) {
      ctx.close();
    } else if (!keepAlive) {
      Connections.closeAfterResponse(ctx, state);
    }
    complete();
  }

  private void complete() {
    if (completed.compareAndSet(false, true)) {
      ctx.executor().execute(onComplete);
    }
  }
}
