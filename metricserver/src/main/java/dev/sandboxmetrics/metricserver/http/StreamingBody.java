package dev.sandboxmetrics.metricserver.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The body of a streamed HTTP response as an {@link OutputStream}: bytes go into pooled buffers of
 * {@value #CHUNK_BYTES} bytes, each sent as one HTTP chunk as soon as it is full, so a response of any size
 * never exists in memory as a whole. When the client reads slower than we write, the writer waits (at most
 * the write timeout) instead of queueing the response in memory.
 *
 * <p>Made by {@link Exchange#startStream}; written by the metrics endpoint from a worker thread. Not
 * thread-safe; must not be used on the event loop, because it may wait for the client.
 */
public final class StreamingBody extends OutputStream {
  static final int CHUNK_BYTES = 32 * 1024;

  private final ChannelHandlerContext ctx;
  private final Duration writeTimeout;
  private final Exchange exchange;
  private ByteBuf buffer;
  private long bytes;
  private boolean closed;

  StreamingBody(ChannelHandlerContext ctx, Duration writeTimeout, Exchange exchange) {
    this.ctx = ctx;
    this.writeTimeout = writeTimeout;
    this.exchange = exchange;
  }

  @Override
  public void write(int b) throws IOException {
    ensureBuffer().writeByte(b);
    bytes++;
    if (buffer.readableBytes() >= CHUNK_BYTES) {
      sendChunk();
    }
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      ByteBuf buf = ensureBuffer();
      int n = Math.min(len, CHUNK_BYTES - buf.readableBytes());
      buf.writeBytes(b, off, n);
      off += n;
      len -= n;
      bytes += n;
      if (buf.readableBytes() >= CHUNK_BYTES) {
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
    if (buffer != null && buffer.isReadable()) {
      sendChunk();
    }
    closed = true;
    ChannelFuture last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    exchange.streamEnded(last, false);
  }

  /** Ends the response abnormally: the client sees a truncated body and a closed connection. */
  public void abort() {
    if (closed) {
      return;
    }
    closed = true;
    if (buffer != null) {
      buffer.release();
      buffer = null;
    }
    exchange.streamEnded(null, true);
  }

  private ByteBuf ensureBuffer() throws IOException {
    if (closed) {
      throw new IOException("response already ended");
    }
    if (buffer == null) {
      buffer = ctx.alloc().buffer(CHUNK_BYTES);
    }
    return buffer;
  }

  private void sendChunk() throws IOException {
    if (ctx.executor().inEventLoop()) {
      throw new IllegalStateException("a streamed response must not be written on the event loop");
    }
    ByteBuf chunk = buffer;
    buffer = null;
    if (!ctx.channel().isActive()) {
      chunk.release();
      throw new IOException("the client closed the connection");
    }
    ChannelFuture write = ctx.writeAndFlush(new DefaultHttpContent(chunk));
    if (!ctx.channel().isWritable()) {
      // The client is slower than we are: wait for the socket to drain instead of buffering the rest.
      boolean done;
      try {
        done = write.await(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for the client to read");
      }
      if (!done) {
        throw new IOException("the client did not read the response within " + writeTimeout.toSeconds() + "s");
      }
      if (!write.isSuccess()) {
        throw new IOException("cannot write the response: " + write.cause(), write.cause());
      }
    }
  }
}
