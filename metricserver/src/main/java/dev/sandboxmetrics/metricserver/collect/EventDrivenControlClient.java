package dev.sandboxmetrics.metricserver.collect;

import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.runsc.control.ReplyBudget;
import dev.sandboxmetrics.runsc.control.ReplyBuffer;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The event-driven uRPC client for sandbox control sockets, used by the metric server to ask many sandboxes
 * at once without a thread per sandbox: each call is one connection on the shared event loops (connect,
 * write the call, read one JSON value, close: what runsc does), with its own deadline, or, for a call that
 * names a {@link KeptConnections.Key}, a connection kept from that sandbox's last clean call (runsc's
 * server answers further calls on a connection); {@link #callEach} sends several calls in turn on one
 * connection (the container stats' {@code containerManager.Event}s), kept by the same rules. The blocking twin
 * for one call at a time is {@link dev.sandboxmetrics.runsc.control.BlockingControlClient}; both share the
 * protocol layer: {@link ControlProtocol} encodes calls and judges replies, {@link ReplyBuffer} receives
 * them in bounded pieces and finds their end, and failures are {@link ControlException}s of one
 * {@link ControlException.Kind} vocabulary. A reply that arrives whole is decoded on the event loop as it
 * arrives ({@link Reply#decoded()}); otherwise decoding it is the caller's work.
 *
 * <p>Memory: every reply is charged to the server-wide {@link ReplyBudget}. A call that cannot reserve
 * room stops reading (the sandbox's bytes wait in the kernel) until another reply gives bytes back, so the
 * heap holds at most the budget whatever the sandboxes send; a reply is refused the moment it passes the
 * maximum size.
 */
public final class EventDrivenControlClient {
  /** One complete reply. {@link #release()} it once decoded: that gives its bytes back to the budget. */
  public static final class Reply {
    /** Null once released: a kept connection's reader outlives the reply, and must not hold its data. */
    private ReplyBuffer buffer;
    /** The kept connection the reply came on, offered back on {@link #release()}; null when not kept. */
    private final Lease lease;
    private volatile boolean discard;

    Reply(ReplyBuffer buffer, Lease lease) {
      this.buffer = buffer;
      this.lease = lease;
    }

    /**
     * The reply is {@code bytes()[0, length())}; only when {@link #decoded()} is null (a decoded reply's
     * array went back to the event loop's pool for the next reply).
     */
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

    /**
     * The reply could not be used (not runsc's shape, an error): its connection is closed on
     * {@link #release()} rather than kept for the next call.
     */
    public void discardConnection() {
      discard = true;
    }

    /** Gives the bytes back to the budget, and a kept connection back for the next call (or closes it). */
    public void release() {
      ReplyBuffer b = buffer;
      if (b == null) {
        return;
      }
      buffer = null;
      b.release();
      if (lease != null) {
        lease.giveBack(!discard);
      }
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
  /** Where connections are kept between calls that name a key; null: one connection per call. */
  private final KeptConnections kept;

  public EventDrivenControlClient(Transport transport, EventLoopGroup group, int maxReplyBytes) {
    this(transport, group, maxReplyBytes, new ReplyBudget(Math.max(maxReplyBytes, 1L) * 4));
  }

  public EventDrivenControlClient(Transport transport, EventLoopGroup group, int maxReplyBytes, ReplyBudget budget) {
    this(transport, group, maxReplyBytes, budget, null);
  }

  /** @param kept where calls that name a {@link KeptConnections.Key} keep their connection; null for none */
  public EventDrivenControlClient(
      Transport transport, EventLoopGroup group, int maxReplyBytes, ReplyBudget budget, KeptConnections kept) {
    this.transport = transport;
    this.bootstrap = transport.domainSocketClient(group).option(ChannelOption.AUTO_CLOSE, true);
    this.maxReplyBytes = maxReplyBytes;
    this.budget = budget;
    this.kept = kept;
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
    return call(socket, null, call, timeout, expectedBytes, quietAfter, quiet);
  }

  /**
   * {@link #call(Path, byte[], Duration, int, Duration, Runnable)} on a connection kept for {@code key} (null:
   * a connection of its own, closed after the call, as runsc does). A kept connection is used again only
   * after a call on it ended cleanly, and only once the reply is {@link Reply#release() released}; one that
   * the sandbox closed before any byte of the reply costs nothing but a new connection within the same
   * deadline.
   */
  public CompletableFuture<Reply> call(Path socket, KeptConnections.Key key, byte[] call, Duration timeout,
      int expectedBytes, Duration quietAfter, Runnable quiet) {
    long millis = Math.max(1, timeout.toMillis());
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    KeptConnections.Slot slot = key == null || kept == null ? null : kept.slot(key);
    Sequence single = new Sequence(socket, List.of(call), false,
        i -> ReplyBuffer.recycling(maxReplyBytes, expectedBytes, budget, socket, POLICY), timeout, deadlineNanos, slot);
    // Not thenApply: a dependent stage would wrap the ControlException in a CompletionException.
    CompletableFuture<Reply> out = new CompletableFuture<>();
    single.out.whenComplete((r, e) -> {
      if (e != null) {
        out.completeExceptionally(e);
      } else if (r.failure() != null) {
        out.completeExceptionally(r.failure());
      } else {
        out.complete(r.replies().get(0));
      }
    });
    if (quiet != null && quietAfter.toMillis() < millis) {
      single.quietCheck = new QuietCheck(out, single, quietAfter, quiet);
    }
    single.begin();
    return out;
  }

  /**
   * Calls {@code quiet} if no byte of the reply has arrived {@code quietAfter} into the call. Armed once, by
   * the call's first segment: on a kept connection from the task that sends the call on the channel's own
   * event loop (so a call on a kept connection costs the event loop one task from the caller's thread, not
   * three), else from the caller on any event loop, as the connect's deadline is.
   */
  private static final class QuietCheck {
    private final CompletableFuture<Reply> out;
    private final Sequence call;
    private final long dueNanos;
    private final Runnable quiet;
    private boolean armed;

    QuietCheck(CompletableFuture<Reply> out, Sequence call, Duration quietAfter, Runnable quiet) {
      this.out = out;
      this.call = call;
      this.dueNanos = System.nanoTime() + quietAfter.toNanos();
      this.quiet = quiet;
    }

    /** Schedules the check on {@code loop} the first time; later segments of the call do nothing. */
    void arm(io.netty.util.concurrent.EventExecutor loop) {
      if (armed) {
        return;
      }
      armed = true;
      long delay = Math.max(TimeUnit.MILLISECONDS.toNanos(1), dueNanos - System.nanoTime());
      ScheduledFuture<?> check = loop.schedule(
          () -> {
            if (!out.isDone() && call.silent()) {
              quiet.run();
            }
          },
          delay,
          TimeUnit.NANOSECONDS);
      out.whenComplete((r, e) -> check.cancel(false));
    }
  }

  /**
   * Calls sent one after the other, each once the reply to the one before it is complete, within one
   * deadline: a single call ({@code Metrics.Export}) or the {@code containerManager.Event}s of a sandbox's
   * containers. They go on a connection kept for the sandbox if there is one, else on a new one, and stay on
   * it from call to call; the connection is offered back for the next scrape with the last reply. A
   * connection that turns out closed by the sandbox before any byte of a call's reply, when it had carried a
   * call before (kept from an earlier scrape, or the previous call of this sequence), costs nothing but a new
   * connection within the same deadline: that call and the ones after it are sent again there; each call is
   * retried at most once, since a new connection's first call is not retried. A sandbox found to hang up
   * after its replies ({@link KeptConnections#oneCallEach}) gets a connection per call, as from runsc.
   *
   * <p>The calls sent on one connection are a segment with its own {@link ReplyReader}; segments run strictly
   * one after another (each starts from the end of the one before), so the fields need no lock.
   */
  private final class Sequence {
    /** Never completes exceptionally: a failure is in {@link Replies#failure()}. */
    final CompletableFuture<Replies> out = new CompletableFuture<>();
    private final Path socket;
    private final List<byte[]> calls;
    private final boolean exact;
    private final IntFunction<ReplyBuffer> buffers;
    private final Duration timeout;
    private final long deadlineNanos;
    private final KeptConnections.Slot slot;
    /** The replies so far, over all segments, in the order of the calls. */
    private final List<Reply> answered = new ArrayList<>();
    private volatile ReplyReader reader;
    /** The single call's quiet check, or null; armed by the first segment (segments run one at a time). */
    QuietCheck quietCheck;

    Sequence(Path socket, List<byte[]> calls, boolean exact, IntFunction<ReplyBuffer> buffers, Duration timeout,
        long deadlineNanos, KeptConnections.Slot slot) {
      this.socket = socket;
      this.calls = calls;
      this.exact = exact;
      this.buffers = buffers;
      this.timeout = timeout;
      this.deadlineNanos = deadlineNanos;
      this.slot = slot;
    }

    boolean silent() {
      ReplyReader r = reader;
      return r == null || r.silent();
    }

    void begin() {
      if (calls.isEmpty()) {
        out.complete(new Replies(List.of(), null));
      } else {
        segment(true);
      }
    }

    /** Sends the calls not answered yet; on a kept connection when {@code mayReuse} and one is idle. */
    private void segment(boolean mayReuse) {
      int from = answered.size();
      // A sandbox that hangs up after its replies: one connection per call, none of them kept.
      boolean oneEach = slot != null && kept.oneCallEach(slot);
      KeptConnections.Slot keepIn = oneEach ? null : slot;
      List<byte[]> part = calls.subList(from, oneEach ? from + 1 : calls.size());
      CompletableFuture<List<Reply>> replies = new CompletableFuture<>();
      ReplyReader r = new ReplyReader(replies, part, exact, socket, budget, buffers,
          keepIn == null ? null : kept, keepIn);
      reader = r;
      Channel ch = mayReuse && keepIn != null ? kept.take(keepIn) : null;
      if (ch == null) {
        if (quietCheck != null) {
          quietCheck.arm(bootstrap.config().group().next());
        }
        replies.whenComplete((list, e) -> ended(r, part.size(), list, e, false, true));
        start(socket, r, replies, deadlineNanos, timeout);
      } else {
        reuse(ch, r, part.size(), replies);
      }
    }

    /**
     * The segment on a kept connection. The reader of the call before it (still the channel's handler,
     * closing the channel on any byte that arrives while idle) is replaced by this segment's, then the first
     * call is sent.
     *
     * <p>Bytes a sandbox sent while idle that the event loop had not read yet when the call goes out are
     * taken as the start of this call's reply. That is the sandbox answering, early, the call it was about
     * to get, checked like any reply (framing, filter, verifier); it can never be the reply to another call,
     * because a call that did not end cleanly closed its connection.
     */
    private void reuse(Channel ch, ReplyReader r, int size, CompletableFuture<List<Reply>> replies) {
      boolean[] sent = new boolean[1];
      // One task for the event loop: the deadline and the quiet check are scheduled from it (on the loop,
      // where scheduling is a plain heap insert), not from this thread (each a task and maybe a wake-up).
      ch.eventLoop().execute(() -> {
        long left = Math.max(1, deadlineNanos - System.nanoTime());
        ScheduledFuture<?> deadline = ch.eventLoop().schedule(
            () -> {
              if (replies.completeExceptionally(new ControlException(ControlException.Kind.TIMED_OUT, socket,
                  "no complete reply within " + describe(timeout) + r.progress()))) {
                closeKept(ch);
              }
            },
            left,
            TimeUnit.NANOSECONDS);
        replies.whenComplete((list, e) -> deadline.cancel(false));
        if (quietCheck != null) {
          quietCheck.arm(ch.eventLoop());
        }
        if (replies.isDone()) {
          closeKept(ch);
          return;
        }
        if (!ch.isActive()) {
          // Closed while idle, just now: the idle reader counted it; connect afresh.
          replies.completeExceptionally(ControlProtocol.closedEarly(socket, 0, null, null));
          return;
        }
        try {
          ch.pipeline().replace(ReplyReader.class, null, r);
        } catch (RuntimeException e) {
          closeKept(ch);
          replies.completeExceptionally(new ControlException(ControlException.Kind.IO_ERROR, socket,
              "internal error reusing the connection: " + e, e));
          return;
        }
        if (!ch.config().isAutoRead()) {
          ch.config().setAutoRead(true);
        }
        sent[0] = true;
        r.send(ch);
      });
      replies.whenComplete((list, e) -> {
        if (e != null) {
          closeKept(ch);
        }
        ended(r, size, list, e, true, sent[0]);
      });
    }

    /**
     * A segment of {@code size} calls ended. {@code carried}: its connection had carried calls before (kept);
     * {@code sent}: its first call was written (a kept connection found closed before that was counted by
     * the reader that guarded it while idle).
     */
    private void ended(ReplyReader r, int size, List<Reply> list, Throwable e, boolean carried, boolean sent) {
      if (e == null) {
        if (slot != null && (carried || size > 1)) {
          kept.reused(slot); // a connection answered a second call: the sandbox does keep connections
        }
        answered.addAll(list);
        if (answered.size() < calls.size()) {
          segment(false); // one connection per call: the next one
        } else {
          out.complete(new Replies(List.copyOf(answered), null));
        }
        return;
      }
      ControlException failure = asControlException(e, socket);
      r.afterFailure(got -> {
        List<Reply> mine = got;
        if (mine.size() >= size) {
          // The segment's last reply completed as the deadline struck: the failure is that call's.
          discardAll(mine.subList(size - 1, mine.size()));
          mine = mine.subList(0, size - 1);
        }
        int failed = mine.size(); // the index in the segment of the call that has no reply
        answered.addAll(mine);
        // Nothing of this call's reply arrived and the connection is gone: the sandbox closed it after
        // the reply before (or while idle, or it restarted). That must not cost this scrape the call: once
        // more, on a new connection. A new connection's first call is not retried: that is a real failure.
        if ((carried || failed > 0) && peerGone(failure) && !r.heardSinceSend()
            && deadlineNanos - System.nanoTime() > 0) {
          if (slot != null && (sent || failed > 0)) {
            kept.peerClosed(slot);
          }
          segment(false);
        } else {
          out.complete(new Replies(List.copyOf(answered), failure));
        }
      });
    }
  }

  /** Closes a kept channel on our own account (its current reader then counts no hang-up). Event loop only. */
  private static void closeKept(Channel ch) {
    if (!ch.isActive()) {
      // Closed already, and not necessarily by us: Netty tells the handlers a little later (a task), and the
      // reader that guarded it idle must then count the sandbox's hang-up. closeOurselves would mark the close
      // as ours and lose that count (a sandbox that hangs up after every reply would never be given up on).
      return;
    }
    ReplyReader current = ch.pipeline().get(ReplyReader.class);
    if (current != null && current.ctx != null) {
      current.closeOurselves();
    } else {
      ch.close();
    }
  }

  private static boolean peerGone(Throwable e) {
    return e instanceof ControlException c
        && (c.kind() == ControlException.Kind.CLOSED_WITHOUT_REPLY || c.kind() == ControlException.Kind.IO_ERROR);
  }

  private static void discardAll(List<Reply> replies) {
    for (Reply r : replies) {
      r.discardConnection();
      r.release();
    }
  }

  /**
   * The replies to a sequence of calls, or as many as arrived before the first failure. {@code replies}
   * holds one {@link Reply} per call answered, in order (release each once decoded; the last one's release
   * offers the connection for the next scrape, so {@link Reply#discardConnection()} it when a reply cannot
   * be used); {@code failure} is null when every call was answered, else why the call at index
   * {@code replies.size()} has none (the calls after it were not sent).
   */
  public record Replies(List<Reply> replies, ControlException failure) {}

  /**
   * Sends {@code calls} one after the other on one connection, each once the reply to the one before it is
   * complete (runsc's uRPC server answers the calls of a connection in turn), within one deadline for all.
   * For methods other than {@code Metrics.Export} (e.g. {@code containerManager.Event}): the replies are
   * only framed here, and a sandbox that sends bytes past a reply is answering something it was not asked
   * ({@code MALFORMED_REPLY}). The future never fails: a failure is in {@link Replies#failure()}.
   *
   * @param expectedBytes each reply's expected size (0 if unknown)
   */
  public CompletableFuture<Replies> callEach(Path socket, List<byte[]> calls, Duration timeout, int expectedBytes) {
    return callEach(socket, null, calls, timeout, expectedBytes);
  }

  /**
   * {@link #callEach(Path, List, Duration, int)} on a connection kept for {@code key} (null: a connection of
   * its own, closed after the last reply), by the same rules as {@link #call(Path, KeptConnections.Key,
   * byte[], Duration, int, Duration, Runnable)}: the connection is offered back when the last reply is
   * released, a kept or carried connection closed by the sandbox before a reply costs a new connection, and
   * a sandbox that hangs up after its replies gets one connection per call.
   */
  public CompletableFuture<Replies> callEach(Path socket, KeptConnections.Key key, List<byte[]> calls,
      Duration timeout, int expectedBytes) {
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(1, timeout.toMillis()));
    KeptConnections.Slot slot = key == null || kept == null ? null : kept.slot(key);
    Sequence s = new Sequence(socket, List.copyOf(calls), true,
        i -> ReplyBuffer.framingOnly(maxReplyBytes, expectedBytes, budget, socket), timeout, deadlineNanos, slot);
    s.begin();
    return s.out;
  }

  private static ControlException asControlException(Throwable e, Path socket) {
    Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    return t instanceof ControlException c ? c
        : new ControlException(ControlException.Kind.IO_ERROR, socket, "control call failed: "
            + ControlProtocol.message(t), t);
  }

  private void start(Path socket, ReplyReader reader, CompletableFuture<List<Reply>> result, long deadlineNanos,
      Duration timeout) {
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
      return;
    }
    new Attempt(socket, address, handle, reader, result, deadlineNanos, timeout).connect();
  }

  /**
   * Connecting, with the blocking client's answer to a full listen backlog (a stalled sandbox that does
   * not accept): try again every {@link ControlProtocol#BACKLOG_RETRY_NANOS} until the deadline.
   */
  private final class Attempt {
    private final Path socket;
    private final SocketAddress address;
    private final PathHandle handle;
    private final ReplyReader reader;
    private final CompletableFuture<List<Reply>> result;
    private final long deadlineNanos;
    private final Duration timeout;

    Attempt(Path socket, SocketAddress address, PathHandle handle, ReplyReader reader,
        CompletableFuture<List<Reply>> result, long deadlineNanos, Duration timeout) {
      this.socket = socket;
      this.address = address;
      this.handle = handle;
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
                if (result.completeExceptionally(new ControlException(ControlException.Kind.TIMED_OUT, socket,
                    "no complete reply within " + describe(timeout) + reader.progress()))) {
                  channel.close();
                }
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
              if (e != null || !reader.keeps()) {
                channel.close();
              }
            });
            reader.send(f.channel());
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
   * A kept connection from its reply on: waits for the reply's release to be offered to
   * {@link KeptConnections}, and is closed for good on any byte that arrives meanwhile or while idle. Its
   * reader stays the channel's handler until the next call replaces it. Event loop only, except
   * {@link #giveBack}.
   */
  static final class Lease {
    private final KeptConnections kept;
    private final KeptConnections.Slot slot;
    private final Channel channel;
    private final ReplyReader reader;
    /**
     * A byte arrived past the reply or while idle. Volatile: {@link #giveBack} reads it on the thread that
     * released the reply; for bytes that came with the reply it is set before the reply is handed over.
     */
    private volatile boolean spoiled;
    /** We close it (not the sandbox). */
    boolean closing;

    Lease(KeptConnections kept, KeptConnections.Slot slot, Channel channel, ReplyReader reader) {
      this.kept = kept;
      this.slot = slot;
      this.channel = channel;
      this.reader = reader;
    }

    void spoil() {
      spoiled = true;
      reader.closeOurselves();
    }

    /** The channel closed, by us or by the sandbox, while this lease guarded it. */
    void inactive() {
      kept.forget(slot, channel);
      if (!closing) {
        kept.peerClosed(slot);
      }
    }

    /**
     * From any thread, once (a reply is released once): keeps the connection if the call ended cleanly and
     * there is room, else closes it.
     *
     * <p>Keeping is done right here, without a task for the channel's event loop (a task per sandbox per
     * scrape, and often a wake-up of a sleeping loop): {@link KeptConnections#offer} refuses a channel that
     * is no longer active, under the monitor that {@link KeptConnections#forget} takes when it closes, and a
     * channel closes on its event loop in that order (inactive, then forgotten). So a connection that the
     * sandbox closes, or that we close for a byte arriving after this, is either refused here or forgotten
     * there; and bytes that came with the reply spoiled the lease before the reply was handed over. A call
     * that takes the connection at once sends its call from a task on the event loop, which runs after
     * whatever the loop was doing with the reply.
     */
    void giveBack(boolean clean) {
      if (clean && !spoiled && kept.offer(slot, channel)) {
        return;
      }
      try {
        channel.eventLoop().execute(() -> {
          if (channel.isActive()) {
            reader.closeOurselves();
          }
        });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        channel.close(); // the event loops are shutting down
      }
    }
  }

  /**
   * Sends the calls and feeds what arrives into one reply buffer per call. One per call sequence; runs on
   * the channel's event loop. When the budget is exhausted it keeps the piece it could not take, stops
   * reading and resumes when called back by the budget.
   */
  // Sharable only in Netty's sense: the attempts of one call (after a full backlog) add it to one channel
  // after another; a failed attempt's channel never delivers anything, so one connection at a time uses it.
  @io.netty.channel.ChannelHandler.Sharable
  private static final class ReplyReader extends ChannelInboundHandlerAdapter {
    private final CompletableFuture<List<Reply>> result;
    private final List<byte[]> calls;
    /** Whether bytes past a reply are an error (a sequence) or ignored (one call, as before). */
    private final boolean exact;
    private final Path socket;
    private final ReplyBudget budget;
    private final IntFunction<ReplyBuffer> buffers;
    private final List<Reply> answered = new ArrayList<>();
    private final ArrayDeque<ByteBuf> parked = new ArrayDeque<>();
    /** Where the connection is kept after the reply; both null when it is closed after the reply. */
    private final KeptConnections kept;
    private final KeptConnections.Slot slot;
    /** The kept connection once the reply is complete: this reader then guards it until the next call. */
    private Lease lease;
    /** The buffer of the reply being received; null once handed over or given back. */
    private ReplyBuffer buffer;
    private volatile ChannelHandlerContext ctx;
    private boolean closed;
    private volatile boolean heard;
    /** Whether a byte arrived since the current call was sent (the previous replies' bytes not counted). */
    private volatile boolean heardCurrent;

    ReplyReader(CompletableFuture<List<Reply>> result, List<byte[]> calls, boolean exact, Path socket,
        ReplyBudget budget, IntFunction<ReplyBuffer> buffers, KeptConnections kept, KeptConnections.Slot slot) {
      this.kept = kept;
      this.slot = slot;
      this.budget = budget;
      this.result = result;
      this.calls = calls;
      this.exact = exact;
      this.socket = socket;
      this.buffers = buffers;
      this.buffer = buffers.apply(0);
    }

    /** Nothing of the reply has arrived yet (read from another event loop: a hint, not a promise). */
    boolean silent() {
      return !heard;
    }

    /**
     * Whether any byte of the current call's reply arrived (on the channel's event loop, after the call
     * ended: exact).
     */
    boolean heardSinceSend() {
      return heardCurrent;
    }

    /** Whether the connection is kept after a complete reply rather than closed. */
    boolean keeps() {
      return slot != null;
    }

    /** Closes the channel on our own account: not the sandbox hanging up. Event loop only. */
    void closeOurselves() {
      if (lease != null) {
        lease.closing = true;
        // Out of the idle set before the descriptor closes (Netty reports the channel inactive only in a
        // later task): a connection being closed is never handed to a call, and is not counted as idle once
        // the sandbox can see it closed.
        lease.kept.forget(lease.slot, lease.channel);
      }
      ctx.close();
    }

    String progress() {
      ReplyBuffer b = buffer;
      int n = b == null ? 0 : b.received();
      String waiting = parked.isEmpty() ? "" : ", waiting for the server's reply budget";
      return n == 0 && parked.isEmpty() ? " (nothing received)" : " (" + n + " bytes received" + waiting + ")";
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    /** Writes the next call (the first once connected, then one per complete reply). */
    void send(Channel channel) {
      channel
          .writeAndFlush(Unpooled.wrappedBuffer(calls.get(answered.size())))
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
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf buf = (ByteBuf) msg;
      heard = true;
      heardCurrent = true;
      if (result.isDone()) {
        buf.release();
        if (lease != null) {
          // A byte nobody asked for, after the reply or while idle: the connection is not used again.
          lease.spoil();
        }
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
              boolean extra = buf.isReadable() || buffer.received() > buffer.length() || !parked.isEmpty();
              if (exact && extra) {
                // uRPC answers only what was asked: bytes beyond the reply are a broken peer.
                throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
                    "the sandbox sent more than one reply");
              }
              boolean last = answered.size() + 1 == calls.size();
              if (last && slot != null) {
                lease = new Lease(kept, slot, ctx.channel(), this);
                if (extra) {
                  // Before the reply is handed over: its release may offer the connection from another thread.
                  lease.spoiled = true;
                }
              }
              answered.add(new Reply(buffer, last ? lease : null)); // the Reply owns the buffer now
              buffer = null;
              if (last) {
                dropParked();
                if (!result.complete(List.copyOf(answered))) {
                  // The deadline struck as the reply completed: the failure's afterFailure gives it back.
                  if (lease != null) {
                    lease.closing = true; // closed by us (the deadline), not a hang-up
                  }
                  return;
                }
                if (lease != null) {
                  // This reader guards the kept connection until the next call: it keeps no reply alive.
                  answered.clear();
                }
                if (lease == null) {
                  ctx.close();
                } else if (!extra && !ctx.channel().config().isAutoRead()) {
                  // It stopped reading to wait for the budget: a kept connection must read, to notice a
                  // byte or a hang-up while idle, and to hear the next call's reply.
                  ctx.channel().config().setAutoRead(true);
                } else if (extra) {
                  // The reply counts (as it did when every connection was closed after its reply), the
                  // connection does not: what follows the reply would be taken for the next call's.
                  lease.spoil();
                }
                return;
              }
              buffer = buffers.apply(answered.size());
              heardCurrent = false;
              send(ctx.channel());
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
      if (lease != null) {
        lease.inactive();
      }
      if (!result.isDone() && parked.isEmpty()) {
        closedEarly();
      }
    }

    private void closedEarly() {
      result.completeExceptionally(
          ControlProtocol.closedEarly(socket, buffer == null ? 0 : buffer.received(), null, null));
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

    /**
     * After the call failed, on the event loop that owns the buffers: drops the parked pieces and the reply
     * in progress (giving their bytes back to the budget) and hands the replies complete so far to
     * {@code take}, which owns them then.
     */
    void afterFailure(Consumer<List<Reply>> take) {
      ChannelHandlerContext c = ctx;
      Runnable r = () -> {
        dropParked();
        if (buffer != null) {
          buffer.release();
          buffer = null;
        }
        List<Reply> list = List.copyOf(answered);
        answered.clear();
        take.accept(list);
      };
      if (c == null) {
        r.run(); // never connected: nothing arrived, nothing runs on a loop
      } else {
        c.executor().execute(r);
      }
    }

    private void dropParked() {
      ByteBuf b;
      while ((b = parked.poll()) != null) {
        b.release();
      }
    }
  }
}
