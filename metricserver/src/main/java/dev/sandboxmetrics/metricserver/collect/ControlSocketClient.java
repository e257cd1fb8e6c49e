package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A non-blocking uRPC client for sandbox control sockets, used by the metric server to ask many sandboxes at
 * once without a thread per sandbox: each call is one connection on the shared event loops (connect, write
 * the call, read one JSON value, close — what runsc does), with its own deadline and a bound on the reply's
 * size. The reply is returned as raw bytes; decoding and verifying it is CPU work that the caller does off
 * the event loop.
 *
 * <p>uRPC has no length prefix. When the bytes so far end with a '}', the client tries the fast decoder on
 * them: a reply arrives in one or a few reads, so that usually decodes the whole reply at once, and finding
 * its end costs nothing more. Otherwise (the '}' closed an inner object, or the reply is unusual or
 * malformed) the end is found with {@link JsonValueFramer}, which then reads every byte once. At most one
 * such attempt is made per reply, so a peer that sends many pieces ending in '}' costs no more than that.
 */
public final class ControlSocketClient {
  /**
   * One reply: its raw bytes {@code bytes[0, length)}, and, when the client already decoded them while
   * looking for the reply's end, the decoded reply (else null: decode the bytes).
   */
  public record Reply(byte[] bytes, int length, ExportReply decoded) {
    public Reply(byte[] bytes, int length) {
      this(bytes, length, null);
    }
  }

  private final Transport transport;
  private final Bootstrap bootstrap;
  private final int maxReplyBytes;

  public ControlSocketClient(Transport transport, EventLoopGroup group, int maxReplyBytes) {
    this.transport = transport;
    this.bootstrap = transport.domainSocketClient(group).option(ChannelOption.AUTO_CLOSE, true);
    this.maxReplyBytes = maxReplyBytes;
  }

  /**
   * Sends one call and reads its reply. The future fails with a {@link ControlCallException} whose message
   * says what went wrong (cannot connect, no complete reply before the connection closed, reply too large,
   * not JSON, deadline passed).
   *
   * @param call the encoded call (e.g. from {@code RunscJson.writeCall}); not modified
   * @param timeout how long the whole call may take, connecting included
   */
  public CompletableFuture<Reply> call(Path socket, byte[] call, Duration timeout) {
    return call(socket, call, timeout, 0);
  }

  /**
   * {@link #call(Path, byte[], Duration)} with the reply's expected size (e.g. the last reply's; 0 if
   * unknown), to receive it into one buffer of that size plus a margin rather than into growing ones.
   */
  public CompletableFuture<Reply> call(Path socket, byte[] call, Duration timeout, int expectedBytes) {
    CompletableFuture<Reply> result = new CompletableFuture<>();
    PathHandle handle = null;
    SocketAddress address;
    try {
      if (PathHandle.tooLongForSocket(socket)) {
        // sockaddr_un cannot hold the path; connect through a short /proc/self/fd name, as runsc does.
        handle = PathHandle.open(socket);
        address = transport.domainSocketAddress(handle.procPath());
      } else {
        address = transport.domainSocketAddress(socket);
      }
    } catch (IOException e) {
      result.completeExceptionally(new ControlCallException("cannot open control socket " + socket + ": " + e.getMessage()));
      return result;
    }
    long millis = Math.max(1, timeout.toMillis());
    ReplyReader reader = new ReplyReader(result, maxReplyBytes, expectedBytes);
    ChannelFuture connect =
        bootstrap
            .clone()
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, millis))
            .handler(reader)
            .connect(address);
    Channel channel = connect.channel();
    ScheduledFuture<?> deadline =
        channel
            .eventLoop()
            .schedule(
                () -> {
                  result.completeExceptionally(
                      new ControlCallException("no complete reply within " + describe(timeout) + reader.progress()));
                  channel.close();
                },
                millis,
                TimeUnit.MILLISECONDS);
    PathHandle toClose = handle;
    connect.addListener(
        (ChannelFuture f) -> {
          if (toClose != null) {
            toClose.close();
          }
          if (!f.isSuccess()) {
            result.completeExceptionally(
                new ControlCallException("cannot connect to control socket " + socket + ": " + message(f.cause())));
            return;
          }
          f.channel()
              .writeAndFlush(Unpooled.wrappedBuffer(call))
              .addListener(
                  (ChannelFuture w) -> {
                    if (!w.isSuccess()) {
                      result.completeExceptionally(
                          new ControlCallException("cannot send the call: " + message(w.cause())));
                      w.channel().close();
                    }
                  });
        });
    result.whenComplete((r, e) -> {
      deadline.cancel(false);
      channel.close();
    });
    return result;
  }

  private static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }

  private static String message(Throwable t) {
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  /** Accumulates the reply until the JSON value is complete. One per connection. */
  private static final class ReplyReader extends ChannelInboundHandlerAdapter {
    private final CompletableFuture<Reply> result;
    private final int max;
    private final JsonValueFramer framer = new JsonValueFramer();
    private byte[] bytes;
    private int length;
    /** Whether the framer reads the bytes (after an attempt to decode failed, or the start is not '{'). */
    private boolean framing;
    /** Bytes fed to the framer so far. */
    private int framed;

    ReplyReader(CompletableFuture<Reply> result, int max, int expectedBytes) {
      this.result = result;
      this.max = max;
      // A margin of 1/16 for a reply that grew a little (new label combinations, longer numbers).
      long size = expectedBytes <= 0 ? 8192 : expectedBytes + (expectedBytes >> 4) + 64;
      this.bytes = new byte[(int) Math.min(max, size)];
    }

    String progress() {
      return length == 0 ? " (nothing received)" : " (" + length + " bytes received)";
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      try {
        if (result.isDone()) {
          return;
        }
        int n = buf.readableBytes();
        if ((long) length + n > max) {
          fail(ctx, "reply larger than " + max + " bytes (the limit set by --max-reply-bytes)");
          return;
        }
        if (length + n > bytes.length) {
          bytes = Arrays.copyOf(bytes, (int) Math.min(max, Math.max((long) bytes.length * 2, length + n)));
        }
        buf.readBytes(bytes, length, n);
        length += n;
        if (!framing) {
          ExportReply decoded = tryDecode();
          if (decoded != null) {
            result.complete(new Reply(bytes, length, decoded));
            ctx.close();
            return;
          }
          if (!framing) {
            return; // wait for more
          }
        }
        int end;
        try {
          end = framer.feed(bytes, framed, length - framed);
        } catch (RunscJsonException e) {
          fail(ctx, "malformed reply: " + e.getMessage());
          return;
        }
        framed = length;
        if (end >= 0) {
          result.complete(new Reply(bytes, end));
          ctx.close();
        }
      } finally {
        buf.release();
      }
    }

    /**
     * Decodes the bytes so far if they may be a whole reply: they start with '{' and end with '}' (blanks
     * aside). Switches to framing when they do not start with '{' (for the framer's error) or when the one
     * attempt fails.
     */
    private ExportReply tryDecode() {
      int first = 0;
      while (first < length && isBlank(bytes[first])) {
        first++;
      }
      if (first == length) {
        return null;
      }
      if (bytes[first] != '{') {
        framing = true;
        return null;
      }
      int last = length - 1;
      while (isBlank(bytes[last])) {
        last--;
      }
      if (bytes[last] != '}') {
        return null;
      }
      ExportReply decoded = RunscJson.readCompleteExportReplyOrNull(bytes, 0, length);
      if (decoded == null) {
        framing = true;
      }
      return decoded;
    }

    private static boolean isBlank(byte b) {
      return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!result.isDone()) {
        result.completeExceptionally(
            new ControlCallException(
                length == 0
                    ? "the sandbox closed the connection without replying"
                    : "the sandbox closed the connection after " + length + " bytes, before the reply was complete"));
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(ctx, "control socket error: " + message(cause));
    }

    private void fail(ChannelHandlerContext ctx, String why) {
      result.completeExceptionally(new ControlCallException(why));
      ctx.close();
    }
  }
}
