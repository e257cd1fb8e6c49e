package dev.sandboxmetrics.metricserver.containerstats;

import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Asks one sandbox for {@code containerManager.Event} of several containers over one connection to its
 * control socket, one call after the other (runsc's uRPC server answers calls on a connection in turn), on
 * the shared event loops without a thread per sandbox. One deadline covers the whole conversation; each
 * reply is bounded in size and framed with {@link JsonValueFramer}. The separate call path of the container
 * stats, beside the metrics' {@code ControlSocketClient}: one extra connection per sandbox per scrape.
 */
final class EventClient {
  /** The outcome for one container: the raw reply, or why there is none (reason, message). */
  record Outcome(byte[] reply, String reason, String message) {
    static Outcome failed(String reason, String message) {
      return new Outcome(null, reason, message);
    }
  }

  private final Transport transport;
  private final Bootstrap bootstrap;
  private final int maxReplyBytes;

  EventClient(Transport transport, EventLoopGroup group, int maxReplyBytes) {
    this.transport = transport;
    this.bootstrap = transport.domainSocketClient(group).option(ChannelOption.AUTO_CLOSE, true);
    this.maxReplyBytes = maxReplyBytes;
  }

  /** One outcome per container ID, in order; never completes exceptionally. */
  CompletableFuture<List<Outcome>> ask(Path socket, List<String> containerIds, long timeoutNanos) {
    CompletableFuture<List<Outcome>> result = new CompletableFuture<>();
    Conversation conversation = new Conversation(containerIds, result, maxReplyBytes);
    PathHandle handle = null;
    SocketAddress address;
    try {
      if (PathHandle.tooLongForSocket(socket)) {
        // sockaddr_un cannot hold the path: connect through a short /proc/self/fd name, as runsc does.
        handle = PathHandle.open(socket);
        address = transport.domainSocketAddress(handle.procPath());
      } else {
        address = transport.domainSocketAddress(socket);
      }
    } catch (IOException e) {
      conversation.failRest("event_failed", "cannot open control socket " + socket + ": " + e.getMessage());
      return result;
    }
    long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
    ChannelFuture connect = bootstrap.clone()
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, millis))
        .handler(conversation)
        .connect(address);
    Channel channel = connect.channel();
    ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
      conversation.failRest("event_failed", "no reply within " + millis + "ms");
      channel.close();
    }, millis, TimeUnit.MILLISECONDS);
    PathHandle toClose = handle;
    connect.addListener((ChannelFuture f) -> {
      if (toClose != null) {
        toClose.close();
      }
      if (!f.isSuccess()) {
        conversation.failRest("event_failed", "cannot connect to control socket " + socket + ": " + message(f.cause()));
      }
    });
    result.whenComplete((r, e) -> {
      deadline.cancel(false);
      channel.close();
    });
    return result;
  }

  private static String message(Throwable t) {
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  /** Sends the calls one by one and collects the replies. Runs on the channel's event loop. */
  private static final class Conversation extends ChannelInboundHandlerAdapter {
    private final List<String> ids;
    private final List<Outcome> outcomes = new ArrayList<>();
    private final CompletableFuture<List<Outcome>> result;
    private final int max;
    private final JsonValueFramer framer = new JsonValueFramer();
    private byte[] bytes = new byte[2048];
    private int length;

    Conversation(List<String> ids, CompletableFuture<List<Outcome>> result, int max) {
      this.ids = ids;
      this.result = result;
      this.max = max;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      sendNext(ctx);
    }

    private void sendNext(ChannelHandlerContext ctx) {
      if (outcomes.size() == ids.size()) {
        result.complete(List.copyOf(outcomes));
        ctx.close();
        return;
      }
      String id = ids.get(outcomes.size());
      ctx.writeAndFlush(Unpooled.wrappedBuffer(ContainerStatsCollector.encodeCall(id))).addListener((ChannelFuture w) -> {
        if (!w.isSuccess()) {
          failRest("event_failed", "cannot send the call: " + message(w.cause()));
          w.channel().close();
        }
      });
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
          failRest("event_failed", "reply larger than " + max + " bytes");
          ctx.close();
          return;
        }
        if (length + n > bytes.length) {
          bytes = Arrays.copyOf(bytes, (int) Math.min(max, Math.max((long) bytes.length * 2, length + n)));
        }
        int start = length;
        buf.readBytes(bytes, length, n);
        length += n;
        int end;
        try {
          end = framer.feed(bytes, start, n);
        } catch (RunscJsonException e) {
          failRest("malformed", "malformed reply: " + e.getMessage());
          ctx.close();
          return;
        }
        if (end < 0) {
          return;
        }
        if (end != length) {
          // uRPC answers only what was asked: bytes beyond the reply are a broken peer.
          failRest("malformed", "the sandbox sent more than one reply");
          ctx.close();
          return;
        }
        outcomes.add(new Outcome(Arrays.copyOf(bytes, end), null, null));
        length = 0;
        framer.reset();
        sendNext(ctx);
      } finally {
        buf.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      failRest("event_failed", length == 0
          ? "the sandbox closed the connection without replying"
          : "the sandbox closed the connection in the middle of a reply");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failRest("event_failed", "control socket error: " + message(cause));
      ctx.close();
    }

    /** The containers not answered yet fail for this reason; completes the result. Idempotent. */
    void failRest(String reason, String message) {
      if (result.isDone()) {
        return;
      }
      List<Outcome> all = new ArrayList<>(outcomes);
      boolean first = true;
      while (all.size() < ids.size()) {
        // The container being asked gets the reason; the ones after it were never asked.
        all.add(first ? Outcome.failed(reason, message) : Outcome.failed("timeout", "not asked: " + message));
        first = false;
      }
      result.complete(List.copyOf(all));
    }
  }
}
