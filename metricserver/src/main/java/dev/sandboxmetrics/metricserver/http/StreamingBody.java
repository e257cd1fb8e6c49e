package dev.sandboxmetrics.metricserver.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The body of a streamed HTTP response as an {@link OutputStream}: bytes go into pooled buffers, each sent as
 * one HTTP chunk as soon as it is full: {@value #TEXT_CHUNK_BYTES} bytes of a plain body,
 * {@value #GZIP_CHUNK_BYTES} of one its writer compressed.
 *
 * <p>Each chunk is one hand-off to the event loop (a task, a promise, a write system call, a chunk header).
 * A plain {@code /metrics} body of 100 bench sandboxes is 3.7 MB: in chunks of 128 KB (the size of the
 * slices it is rendered in) it costs 0.83-0.93 of the server's CPU per plain scrape it cost in chunks of
 * 32 KB, measured side by side (README, "Compression when Prometheus is on the same host"). Its gzip body is
 * ~17 times smaller, a few chunks either way; there 128 KB only held its first bytes back (p50 +1.3-1.7 ms
 * for the same CPU), so compressed bodies keep 32 KB chunks.
 *
 * <p>Writing never waits for the client: a writer that waited for a socket to drain would hold a worker
 * thread for as long as the client cares not to read, and a few such clients would stall every other scrape.
 * What the client has not taken yet stays queued in Netty's buffers, bounded over all connections by the
 * server's {@link ResponseBudget} (the most stalled response is cut off when it is exceeded), and the
 * {@link Router} closes a connection whose response makes no progress for the HTTP timeout.
 *
 * <p>Made by {@link Exchange#startStream}; written by the metrics endpoint from a worker thread. Not
 * thread-safe; must not be used on the event loop.
 */
public final class StreamingBody extends OutputStream {
  static final int TEXT_CHUNK_BYTES = 128 * 1024;
  static final int GZIP_CHUNK_BYTES = 32 * 1024;

  private final ChannelHandlerContext ctx;
  private final Exchange exchange;
  private final ResponseBudget budget;
  private final Connections.State state;
  private final int chunkBytes;
  private final AtomicLong pending = new AtomicLong();
  private ByteBuf buffer;
  private long bytes;
  private boolean closed;
  private volatile boolean cutOff;

  StreamingBody(
      ChannelHandlerContext ctx, Exchange exchange, ResponseBudget budget, Connections.State state, boolean gzipped) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.budget = budget;
    this.state = state;
    this.chunkBytes = gzipped ? GZIP_CHUNK_BYTES : TEXT_CHUNK_BYTES;
    budget.register(this);
  }

  @Override
  public void write(int b) throws IOException {
    ensureBuffer().writeByte(b);
    bytes++;
    if (buffer.readableBytes() >= chunkBytes) {
      sendChunk();
    }
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      ByteBuf buf = ensureBuffer();
      int n = Math.min(len, chunkBytes - buf.readableBytes());
      buf.writeBytes(b, off, n);
      off += n;
      len -= n;
      bytes += n;
      if (buf.readableBytes() >= chunkBytes) {
        sendChunk();
      }
    }
  }

  /** Bytes written so far (before compression). */
  public long bytesWritten() {
    return bytes;
  }

  /** Sends what is buffered and ends the response. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    boolean rest = buffer != null && buffer.isReadable();
    if (rest) {
      checkWritable(); // as for any chunk: the response is not ended then, the caller aborts it
    }
    ChannelPromise last = ctx.newPromise();
    // Still subject to the budget until the client has taken everything: a response written in full to a
    // client that does not read holds its bytes as much as one still being written.
    last.addListener(f -> budget.unregister(this));
    exchange.streamEnded(last, false);
    closed = true;
    if (rest) {
      // The rest of the body and the end of the response in one write (one task for the event loop).
      send(new DefaultLastHttpContent(takeBuffer()), last);
    } else {
      releaseBuffer();
      ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, last);
    }
  }

  /** Ends the response abnormally: the client sees a truncated body and a closed connection. */
  public void abort() {
    if (closed) {
      return;
    }
    closed = true;
    budget.unregister(this);
    if (buffer != null) {
      buffer.release();
      buffer = null;
    }
    exchange.streamEnded(null, true);
  }

  long pendingBytes() {
    return pending.get();
  }

  long lastProgress() {
    return state.lastProgress;
  }

  String channelName() {
    return ctx.channel().toString();
  }

  /** Called by the budget from another thread: closes the connection; the writer notices at its next chunk. */
  void cutOff() {
    cutOff = true;
    ctx.close();
  }

  private ByteBuf ensureBuffer() throws IOException {
    if (closed) {
      throw new IOException("response already ended");
    }
    if (buffer == null) {
      buffer = ctx.alloc().buffer(chunkBytes);
    }
    return buffer;
  }

  private void sendChunk() throws IOException {
    send(new DefaultHttpContent(takeBuffer()), ctx.newPromise());
  }

  private void checkWritable() throws IOException {
    if (ctx.executor().inEventLoop()) {
      throw new IllegalStateException("a streamed response must not be written on the event loop");
    }
    if (cutOff || !ctx.channel().isActive()) {
      throw new IOException(cutOff ? "the client did not read and response buffers are full" : "the client closed the connection");
    }
  }

  private ByteBuf takeBuffer() {
    ByteBuf chunk = buffer;
    buffer = null;
    return chunk;
  }

  private void releaseBuffer() {
    if (buffer != null) {
      buffer.release();
      buffer = null;
    }
  }

  /**
   * Writes one piece of the body. The listener is on the promise before the write: added after it, to a
   * write the event loop may already have done, it would cost the loop another task (and maybe a wake-up)
   * just to be told.
   */
  private void send(HttpContent content, ChannelPromise promise) throws IOException {
    try {
      checkWritable();
    } catch (IOException | RuntimeException e) {
      content.release();
      promise.tryFailure(e);
      throw e;
    }
    long size = content.content().readableBytes();
    pending.addAndGet(size);
    budget.taken(size);
    promise.addListener(
        f -> {
          pending.addAndGet(-size);
          budget.released(size);
          if (f.isSuccess()) {
            state.lastProgress = System.nanoTime();
          }
        });
    ctx.writeAndFlush(content, promise);
    if (budget.pending() > budget.limit() && budget.relieve(this)) {
      cutOff = true;
      throw new IOException("the client did not read and response buffers are full");
    }
  }
}
