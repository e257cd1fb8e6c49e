package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.control.ControlException;
import dev.sandboxmetrics.metricserver.control.ControlProtocol;
import dev.sandboxmetrics.metricserver.control.ReplyBudget;
import dev.sandboxmetrics.metricserver.control.ReplyBuffer;
import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
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
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The event-driven uRPC client for sandbox control sockets, used by the metric server to ask many sandboxes
 * at once without a thread per sandbox: each call is one connection on the shared event loops (connect,
 * write the call, read one JSON value, close: what runsc does), with its own deadline. The blocking twin
 * for one call at a time is {@link dev.sandboxmetrics.metricserver.control.ControlClient}; both share the
 * protocol layer: {@link ControlProtocol} encodes calls and judges replies, {@link ReplyBuffer} receives
 * them in bounded pieces and finds their end, and failures are {@link ControlException}s of one
 * {@link ControlException.Kind} vocabulary. Decoding and verifying a reply is CPU work that the caller does
 * off the event loop.
 *
 * <p>Memory: every reply is charged to the server-wide {@link ReplyBudget}. A call that cannot reserve
 * room stops reading (the sandbox's bytes wait in the kernel) until another reply gives bytes back, so the
 * heap holds at most the budget whatever the sandboxes send; a reply is refused the moment it passes the
 * maximum size.
 */
public final class ControlSocketClient {
  /** One complete reply. {@link #release()} it once decoded: that gives its bytes back to the budget. */
  public static final class Reply {
    private final ReplyBuffer buffer;

    Reply(ReplyBuffer buffer) {
      this.buffer = buffer;
    }

    /** The reply is {@code bytes()[0, length())}. */
    public byte[] bytes() {
      return buffer.bytes();
    }

    public int length() {
      return buffer.length();
    }

    /** The reply already decoded while its end was being looked for, or null: decode {@link #bytes()}. */
    public ExportReply decoded() {
      return buffer.decoded();
    }

    public void release() {
      buffer.release();
    }
  }

  /**
   * The metric server's rule for a number with both parts set: the integer wins, except where gVisor's
   * verifier rejects it (see {@link RunscJson.BothSetPolicy#GVISOR_VERIFIER}).
   */
  public static final RunscJson.BothSetPolicy POLICY = RunscJson.BothSetPolicy.GVISOR_VERIFIER;

  private final Transport transport;
  private final Bootstrap bootstrap;
  private final int maxReplyBytes;
  private final ReplyBudget budget;

  public ControlSocketClient(Transport transport, EventLoopGroup group, int maxReplyBytes) {
    this(transport, group, maxReplyBytes, new ReplyBudget(Math.max(maxReplyBytes, 1L) * 4));
  }

  public ControlSocketClient(Transport transport, EventLoopGroup group, int maxReplyBytes, ReplyBudget budget) {
    this.transport = transport;
    this.bootstrap = transport.domainSocketClient(group).option(ChannelOption.AUTO_CLOSE, true);
    this.maxReplyBytes = maxReplyBytes;
    this.budget = budget;
  }

  public ReplyBudget budget() {
    return budget;
  }

  /**
   * Sends one call and reads its reply. The future fails with a {@link ControlException} whose kind and
   * message say what went wrong (cannot connect, no complete reply before the connection closed, reply too
   * large, not JSON, deadline passed).
   *
   * @param call the encoded call (from {@link ControlProtocol}); not modified
   * @param timeout how long the whole call may take, connecting included
   */
  public CompletableFuture<Reply> call(Path socket, byte[] call, Duration timeout) {
    return call(socket, call, timeout, 0);
  }

  /**
   * {@link #call(Path, byte[], Duration)} with the reply's expected size (e.g. the last reply's; 0 if
   * unknown), to receive it into one buffer of that size plus a margin rather than into several.
   */
  public CompletableFuture<Reply> call(Path socket, byte[] call, Duration timeout, int expectedBytes) {
    return call(socket, call, timeout, expectedBytes, null, null);
  }

  /**
   * {@link #call(Path, byte[], Duration, int)}, and calls {@code quiet} (on an event loop) if no byte of the
   * reply has arrived {@code quietAfter} into the call: the caller may stop counting a sandbox that stalls
   * against its parallelism while the call goes on waiting until its deadline.
   */
  public CompletableFuture<Reply> call(
      Path socket, byte[] call, Duration timeout, int expectedBytes, Duration quietAfter, Runnable quiet) {
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
      result.completeExceptionally(ControlProtocol.connectFailure(socket, e));
      return result;
    }
    long millis = Math.max(1, timeout.toMillis());
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    ReplyReader reader =
        new ReplyReader(result, new ReplyBuffer(maxReplyBytes, expectedBytes, budget, socket, POLICY), budget, socket);
    Attempt attempt = new Attempt(socket, address, handle, call, reader, result, deadlineNanos, timeout);
    attempt.connect();
    if (quiet != null && quietAfter.toMillis() < millis) {
      ScheduledFuture<?> check = bootstrap.config().group().next().schedule(
          () -> {
            if (!result.isDone() && reader.silent()) {
              quiet.run();
            }
          },
          Math.max(1, quietAfter.toMillis()),
          TimeUnit.MILLISECONDS);
      result.whenComplete((r, e) -> check.cancel(false));
    }
    return result;
  }

  /**
   * Connecting, with the blocking client's answer to a full listen backlog (a stalled sandbox that does
   * not accept): try again every {@link ControlProtocol#BACKLOG_RETRY_NANOS} until the deadline.
   */
  private final class Attempt {
    private final Path socket;
    private final SocketAddress address;
    private final PathHandle handle;
    private final byte[] call;
    private final ReplyReader reader;
    private final CompletableFuture<Reply> result;
    private final long deadlineNanos;
    private final Duration timeout;

    Attempt(Path socket, SocketAddress address, PathHandle handle, byte[] call, ReplyReader reader,
        CompletableFuture<Reply> result, long deadlineNanos, Duration timeout) {
      this.socket = socket;
      this.address = address;
      this.handle = handle;
      this.call = call;
      this.reader = reader;
      this.result = result;
      this.deadlineNanos = deadlineNanos;
      this.timeout = timeout;
    }

    void connect() {
      long left = deadlineNanos - System.nanoTime();
      if (result.isDone()) {
        closeHandle();
        return;
      }
      if (left <= 0) {
        closeHandle();
        result.completeExceptionally(new ControlException(ControlException.Kind.TIMED_OUT, socket,
            "no complete reply within " + describe(timeout) + ": the sandbox does not accept connections"
                + " (listen backlog full)"));
        return;
      }
      long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
      ChannelFuture connect =
          bootstrap
              .clone()
              .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, millis))
              .handler(reader)
              .connect(address);
      Channel channel = connect.channel();
      ScheduledFuture<?> deadline =
          bootstrap.config().group().next().schedule(
              () -> {
                result.completeExceptionally(new ControlException(ControlException.Kind.TIMED_OUT, socket,
                    "no complete reply within " + describe(timeout) + reader.progress()));
                channel.close();
              },
              millis,
              TimeUnit.MILLISECONDS);
      connect.addListener(
          (ChannelFuture f) -> {
            if (!f.isSuccess()) {
              deadline.cancel(false);
              if (ControlProtocol.isBacklogFull(f.cause())) {
                // On the group: a channel that failed to connect may have no event loop of its own.
                bootstrap.config().group().next().schedule(this::connect, ControlProtocol.BACKLOG_RETRY_NANOS,
                    TimeUnit.NANOSECONDS);
                return;
              }
              closeHandle();
              result.completeExceptionally(ControlProtocol.connectFailure(socket, f.cause()));
              return;
            }
            closeHandle();
            result.whenComplete((r, e) -> {
              deadline.cancel(false);
              channel.close();
              if (e != null) {
                // A failed call keeps nothing; the event loop owns the buffer, so it lets go there.
                channel.eventLoop().execute(reader::abandon);
              }
            });
            f.channel()
                .writeAndFlush(Unpooled.wrappedBuffer(call))
                .addListener(
                    (ChannelFuture w) -> {
                      if (!w.isSuccess()) {
                        result.completeExceptionally(new ControlException(
                            ControlException.Kind.CLOSED_WITHOUT_REPLY, socket,
                            "the sandbox closed the connection before reading the call ("
                                + ControlProtocol.message(w.cause()) + ")"));
                        w.channel().close();
                      }
                    });
          });
    }

    private void closeHandle() {
      if (handle != null) {
        handle.close();
      }
    }
  }

  private static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }

  /**
   * Feeds what arrives into the reply buffer. One per connection; runs on the channel's event loop. When
   * the budget is exhausted it keeps the piece it could not take, stops reading and resumes when called
   * back by the budget.
   */
  // Sharable only in Netty's sense: the attempts of one call (after a full backlog) add it to one channel
  // after another; a failed attempt's channel never delivers anything, so one connection at a time uses it.
  @io.netty.channel.ChannelHandler.Sharable
  private static final class ReplyReader extends ChannelInboundHandlerAdapter {
    private final CompletableFuture<Reply> result;
    private final ReplyBuffer buffer;
    private final ReplyBudget budget;
    private final Path socket;
    private final ArrayDeque<ByteBuf> parked = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean closed;
    private boolean released;
    private volatile boolean heard;

    ReplyReader(CompletableFuture<Reply> result, ReplyBuffer buffer, ReplyBudget budget, Path socket) {
      this.result = result;
      this.buffer = buffer;
      this.budget = budget;
      this.socket = socket;
    }

    /** Nothing of the reply has arrived yet (read from another event loop: a hint, not a promise). */
    boolean silent() {
      return !heard;
    }

    String progress() {
      int n = buffer.received();
      String waiting = parked.isEmpty() ? "" : ", waiting for the server's reply budget";
      return n == 0 && parked.isEmpty() ? " (nothing received)" : " (" + n + " bytes received" + waiting + ")";
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      heard = true;
      if (result.isDone()) {
        buf.release();
        return;
      }
      parked.add(buf);
      drain();
    }

    /** Takes parked pieces while the budget allows; parks the reader when it does not. */
    private void drain() {
      try {
        while (!parked.isEmpty() && !result.isDone()) {
          ByteBuf buf = parked.peek();
          int n = buf.readableBytes();
          if (!buffer.reserve(n)) {
            ctx.channel().config().setAutoRead(false);
            awaitBudget();
            return;
          }
          parked.poll();
          try {
            if (buffer.append((dst, off, m) -> buf.readBytes(dst, off, m), n)) {
              released = true; // the Reply owns the buffer now
              dropParked();
              result.complete(new Reply(buffer));
              ctx.close();
              return;
            }
          } finally {
            buf.release();
          }
        }
        if (!ctx.channel().config().isAutoRead() && !result.isDone()) {
          ctx.channel().config().setAutoRead(true);
        }
      } catch (ControlException e) {
        fail(e);
      }
      if (closed && !result.isDone() && parked.isEmpty()) {
        closedEarly();
      }
    }

    private void awaitBudget() {
      budget.awaitRelease(() -> ctx.executor().execute(() -> {
        if (!result.isDone()) {
          drain();
        }
      }));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closed = true;
      if (!result.isDone() && parked.isEmpty()) {
        closedEarly();
      }
    }

    private void closedEarly() {
      result.completeExceptionally(ControlProtocol.closedEarly(socket, buffer.received(), null, null));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(new ControlException(ControlException.Kind.IO_ERROR, socket,
          "control socket error: " + ControlProtocol.message(cause)));
    }

    private void fail(ControlException e) {
      result.completeExceptionally(e);
      ctx.close();
    }

    /** After a failure: drop parked pieces and give the budget back (on the event loop). */
    void abandon() {
      if (released) {
        return;
      }
      released = true;
      dropParked();
      buffer.release();
    }

    private void dropParked() {
      ByteBuf b;
      while ((b = parked.poll()) != null) {
        b.release();
      }
    }
  }
}
