package dev.sandboxmetrics.metricserver.collect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.Await;
import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ReplyBudget;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control connections kept between calls ({@link KeptConnections} through {@link EventDrivenControlClient}),
 * against hand-written peers on real Unix sockets that each play one connection after another: what is
 * reused, what is closed, and that nothing a peer does brings a reply into the wrong call. (The scrape tests
 * in {@code KeptControlConnectionsTest} do the same against the simulator.)
 */
@Timeout(60)
class KeptConnectionsTest {
  @TempDir Path dir;

  private final Transport transport = Transport.detect();
  private final EventLoopGroup group = transport.newEventLoopGroup(1, "kept-test");
  private final KeptConnections kept = new KeptConnections(100);
  private final EventDrivenControlClient client =
      new EventDrivenControlClient(transport, group, 4096, new ReplyBudget(1 << 20), kept);
  private static final byte[] CALL = "{\"method\":\"Metrics.Export\",\"arg\":{}}".getBytes(StandardCharsets.UTF_8);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @AfterEach
  void stop() {
    kept.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /** A reply the test can tell apart from the others. */
  private static String reply(String tag) {
    return "{\"success\":false,\"err\":\"" + tag + "\"}";
  }

  @Test
  void callsOnOneKeyShareOneConnection() throws Exception {
    Peer peer = new Peer(ch -> {
      for (int i = 0; i < 3; i++) {
        readCall(ch);
        write(ch, reply("call-" + i));
      }
      awaitEof(ch);
    });
    KeptConnections.Key key = key(peer);
    for (int i = 0; i < 3; i++) {
      assertThat(callAndRelease(peer, key)).isEqualTo(reply("call-" + i));
      Await.until("the connection is kept after call " + i, () -> kept.idleConnections() == 1);
    }
    assertThat(peer.accepted()).isEqualTo(1);
  }

  @Test
  void aReplyNotYetReleasedKeepsItsConnectionFromTheNextCall() throws Exception {
    Peer peer = new Peer(answerOnce("first"), answerOnce("second"));
    KeptConnections.Key key = key(peer);
    EventDrivenControlClient.Reply first = call(peer, key);
    // The first reply is still being decoded: the second call must not share its connection.
    assertThat(text(call(peer, key))).isEqualTo(reply("second"));
    assertThat(text(first)).isEqualTo(reply("first"));
    first.release();
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aKeptConnectionThePeerClosedBeforeReplyingCostsOnlyANewConnection() throws Exception {
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first"));
      readCall(ch); // the second call arrives on the kept connection...
      // ...and the sandbox hangs up without a word (a restart under the same ID, a one-call server).
    }, answerOnce("second"));
    KeptConnections.Key key = key(peer);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("first"));
    Await.until("the connection is kept", () -> kept.idleConnections() == 1);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("second"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aPeerThatHangsUpAfterEveryReplyIsAnsweredEveryTimeAndThenGetsAConnectionPerCall() throws Exception {
    int calls = 6;
    Peer peer = new Peer(calls, ch -> {
      readCall(ch);
      write(ch, reply("one"));
    });
    KeptConnections.Key key = key(peer);
    for (int i = 0; i < calls; i++) {
      assertThat(callAndRelease(peer, key)).as("call %d", i).isEqualTo(reply("one"));
    }
    assertThat(peer.accepted()).isEqualTo(calls);
    assertThat(kept.givenUp(key)).isTrue();
    assertThat(kept.idleConnections()).isZero();
  }

  @Test
  void aByteAfterTheReplyClosesTheConnectionAndTheReplyStillCounts() throws Exception {
    AtomicInteger eofs = new AtomicInteger();
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first") + "}");
      awaitEof(ch);
      eofs.incrementAndGet();
    }, answerOnce("second"));
    KeptConnections.Key key = key(peer);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("first"));
    Await.until("the client closes the connection that sent a byte too many", () -> eofs.get() == 1);
    assertThat(kept.idleConnections()).isZero();
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("second"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aByteThatCameWithTheReplyKeepsTheConnectionFromBeingOfferedEvenForAMoment() throws Exception {
    // The reply is released on this thread, which offers a clean connection back at once: a byte that came
    // with the reply (one write, one read) must have ruled it out before the reply was handed over.
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first") + "}");
      awaitEof(ch);
    }, answerOnce("second"));
    KeptConnections.Key key = key(peer);
    EventDrivenControlClient.Reply r = call(peer, key);
    assertThat(text(r)).isEqualTo(reply("first"));
    r.release();
    assertThat(kept.idleConnections()).as("offered on release").isZero();
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("second"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aReplyReleasedOnAnotherThreadGivesItsConnectionBackForTheNextCall() throws Exception {
    Peer peer = new Peer(ch -> {
      answerUntilEof(ch, "same");
    });
    KeptConnections.Key key = key(peer);
    for (int i = 0; i < 3; i++) {
      EventDrivenControlClient.Reply r = call(peer, key);
      Thread releaser = new Thread(r::release);
      releaser.start();
      releaser.join();
      assertThat(kept.idleConnections()).as("kept as soon as released, call %d", i).isEqualTo(1);
    }
    assertThat(peer.accepted()).isEqualTo(1);
  }

  @Test
  void aKeptConnectionWhoseSandboxGoesQuietIsReportedQuietAndTimesOut() throws Exception {
    CountDownLatch quiet = new CountDownLatch(1);
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first"));
      readCall(ch); // and never a word more
      awaitEof(ch);
    });
    KeptConnections.Key key = key(peer);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("first"));
    assertThat(kept.idleConnections()).isEqualTo(1);
    // The check is armed on the event loop by the task that sends the call on the kept connection.
    var stalled = client.call(peer.socket, key, CALL, Duration.ofSeconds(3), 0, Duration.ofMillis(50),
        quiet::countDown);
    assertThat(quiet.await(20, TimeUnit.SECONDS)).as("the quiet check ran").isTrue();
    try {
      stalled.join();
      throw new AssertionError("expected a timeout");
    } catch (CompletionException e) {
      assertThat(((ControlException) e.getCause()).kind()).isEqualTo(ControlException.Kind.TIMED_OUT);
    }
    assertThat(peer.accepted()).isEqualTo(1);
  }

  @Test
  void aByteWhileIdleClosesTheConnectionAndTheNextCallConnectsAfresh() throws Exception {
    AtomicInteger eofs = new AtomicInteger();
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first"));
      while (kept.idleConnections() == 0) { // until the client keeps it: then this side speaks while idle
        sleep(5);
      }
      write(ch, reply("unasked")); // a reply before the call, for the next call to take
      awaitEof(ch);
      eofs.incrementAndGet();
    }, answerOnce("second"));
    KeptConnections.Key key = key(peer);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("first"));
    Await.until("the client closes a connection that speaks while idle", () -> eofs.get() == 1);
    assertThat(kept.idleConnections()).isZero();
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("second"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aLateReplyAfterATimeoutNeverReachesTheNextCall() throws Exception {
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first"));
      readCall(ch);
      sleep(600); // past the second call's deadline
      write(ch, reply("late"));
      awaitEof(ch);
    }, answerOnce("third"));
    KeptConnections.Key key = key(peer);
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("first"));
    Await.until("the connection is kept", () -> kept.idleConnections() == 1);
    try {
      client.call(peer.socket, key, CALL, Duration.ofMillis(200), 0, null, null).join();
      throw new AssertionError("expected a timeout");
    } catch (CompletionException e) {
      assertThat(((ControlException) e.getCause()).kind()).isEqualTo(ControlException.Kind.TIMED_OUT);
    }
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("third"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aConnectionWhoseReplyCouldNotBeUsedIsClosed() throws Exception {
    Peer peer = new Peer(answerOnce("first"), answerOnce("second"));
    KeptConnections.Key key = key(peer);
    EventDrivenControlClient.Reply r = call(peer, key);
    r.discardConnection();
    r.release();
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("second"));
    assertThat(peer.accepted()).isEqualTo(2);
  }

  @Test
  void aReplyThatWaitedForTheBudgetLeavesItsKeptConnectionReading() throws Exception {
    // Room for one reply at a time: the second waits (its connection stops reading) until the first is released.
    EventDrivenControlClient tight = new EventDrivenControlClient(transport, group, 4096, new ReplyBudget(200), kept);
    Peer first = new Peer(answerOnce("a"));
    Peer second = new Peer(ch -> {
      for (String tag : List.of("b1", "b2")) {
        readCall(ch);
        write(ch, reply(tag));
      }
      awaitEof(ch);
    });
    EventDrivenControlClient.Reply a = tight.call(first.socket, key(first), CALL, TIMEOUT, 100, null, null).join();
    var waiting = tight.call(second.socket, key(second), CALL, TIMEOUT, 100, null, null);
    sleep(200);
    assertThat(waiting).as("waits for the budget").isNotDone();
    a.release();
    EventDrivenControlClient.Reply b1 = waiting.join();
    assertThat(text(b1)).isEqualTo(reply("b1"));
    b1.release();
    Await.until("both connections are kept", () -> kept.idleConnections() == 2);
    EventDrivenControlClient.Reply b2 = tight.call(second.socket, key(second), CALL, TIMEOUT, 100, null, null).join();
    assertThat(text(b2)).isEqualTo(reply("b2"));
    b2.release();
    assertThat(second.accepted()).isEqualTo(1);
  }

  @Test
  void pastTheCapAConnectionIsClosedAfterItsCall() throws Exception {
    KeptConnections one = new KeptConnections(1);
    EventDrivenControlClient capped = new EventDrivenControlClient(transport, group, 4096, new ReplyBudget(1 << 20), one);
    AtomicInteger eofs = new AtomicInteger();
    Peer a = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("a"));
      awaitEof(ch);
      eofs.incrementAndGet();
    });
    Peer b = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("b"));
      awaitEof(ch);
      eofs.incrementAndGet();
    });
    try {
      for (Peer p : List.of(a, b)) {
        EventDrivenControlClient.Reply r = capped.call(p.socket, key(p), CALL, TIMEOUT, 0, null, null).join();
        r.release();
      }
      Await.until("one of the two connections is closed", () -> eofs.get() == 1);
      assertThat(one.idleConnections()).isEqualTo(1);
    } finally {
      one.close();
    }
    Await.until("closing the kept connections closes the last one", () -> eofs.get() == 2);
    assertThat(one.idleConnections()).isZero();
  }

  @Test
  void aKeyThatMayHoldTwoKeepsTwoConnectionsForCallsAtOnceAndClosesAThird() throws Exception {
    KeptConnections two = new KeptConnections(100, 2);
    EventDrivenControlClient pair = new EventDrivenControlClient(transport, group, 4096, new ReplyBudget(1 << 20), two);
    AtomicInteger eofs = new AtomicInteger();
    Peer peer = new Peer(5, ch -> {
      answerUntilEof(ch, "x");
      eofs.incrementAndGet();
    });
    KeptConnections.Key key = key(peer);
    try {
      for (int round = 0; round < 3; round++) {
        // The export and the Events of one scrape: both calls are in flight at once.
        EventDrivenControlClient.Reply a = pair.call(peer.socket, key, CALL, TIMEOUT, 0, null, null).join();
        EventDrivenControlClient.Reply b = pair.call(peer.socket, key, CALL, TIMEOUT, 0, null, null).join();
        a.release();
        b.release();
        Await.until("both connections are kept", () -> two.idleConnections() == 2);
      }
      assertThat(peer.accepted()).isEqualTo(2);
      // A third call at once: a new connection, closed after it (the key holds two).
      List<EventDrivenControlClient.Reply> three = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        three.add(pair.call(peer.socket, key, CALL, TIMEOUT, 0, null, null).join());
      }
      three.forEach(EventDrivenControlClient.Reply::release);
      Await.until("the third connection is closed", () -> eofs.get() == 1);
      assertThat(peer.accepted()).isEqualTo(3);
      assertThat(two.idleConnections()).isEqualTo(2);
    } finally {
      two.close();
    }
    Await.until("closing the kept connections closes both", () -> eofs.get() == 3);
  }

  @Test
  void callEachGoesOnTheKeptConnectionWhichComesBackWithTheLastReply() throws Exception {
    Peer peer = new Peer(ch -> answerUntilEof(ch, "e"));
    KeptConnections.Key key = key(peer);
    for (int round = 0; round < 3; round++) {
      EventDrivenControlClient.Replies r = client.callEach(peer.socket, key, List.of(CALL, CALL, CALL), TIMEOUT, 0).join();
      assertThat(r.failure()).isNull();
      assertThat(r.replies()).hasSize(3);
      r.replies().get(0).release();
      r.replies().get(1).release();
      assertThat(kept.idleConnections()).as("not before the last reply is released").isZero();
      r.replies().get(2).release();
      Await.until("the connection is kept", () -> kept.idleConnections() == 1);
    }
    // A single call of the same key takes the same connection.
    assertThat(callAndRelease(peer, key)).isEqualTo(reply("e"));
    assertThat(peer.accepted()).isEqualTo(1);
  }

  @Test
  void callEachOnAConnectionClosedAfterAReplySendsTheRestOnANewOne() throws Exception {
    Peer peer = new Peer(ch -> {
      readCall(ch);
      write(ch, reply("first"));
      // Hangs up after its first reply: the second call finds the connection closed.
    }, ch -> answerUntilEof(ch, "rest"));
    KeptConnections.Key key = key(peer);
    EventDrivenControlClient.Replies r = client.callEach(peer.socket, key, List.of(CALL, CALL, CALL), TIMEOUT, 0).join();
    assertThat(r.failure()).isNull();
    assertThat(r.replies()).extracting(EventDrivenControlClient.Reply::length)
        .containsExactly(reply("first").length(), reply("rest").length(), reply("rest").length());
    assertThat(new String(r.replies().get(1).bytes(), 0, r.replies().get(1).length(), StandardCharsets.UTF_8))
        .isEqualTo(reply("rest"));
    r.replies().forEach(EventDrivenControlClient.Reply::release);
    assertThat(peer.accepted()).isEqualTo(2);
    Await.until("the new connection is kept", () -> kept.idleConnections() == 1);
  }

  /** Answers every call with the same reply until the client hangs up. */
  /** A connection that answers one call with {@code tag}'s reply and then waits for the client to hang up. */
  private static Behaviour answerOnce(String tag) {
    return ch -> {
      readCall(ch);
      write(ch, reply(tag));
      awaitEof(ch);
    };
  }

  private static void answerUntilEof(SocketChannel ch, String tag) throws IOException {
    while (true) {
      try {
        readCall(ch);
      } catch (IOException e) {
        return; // the client hung up
      }
      write(ch, reply(tag));
    }
  }

  private KeptConnections.Key key(Peer peer) {
    return new KeptConnections.Key("sandbox-" + peer.socket.getFileName(), "1", peer.socket, 42);
  }

  private EventDrivenControlClient.Reply call(Peer peer, KeptConnections.Key key) {
    return client.call(peer.socket, key, CALL, TIMEOUT, 0, null, null).join();
  }

  private String callAndRelease(Peer peer, KeptConnections.Key key) {
    EventDrivenControlClient.Reply r = call(peer, key);
    try {
      return text(r);
    } finally {
      r.release();
    }
  }

  /**
   * What the reply said. The fast decoder reads these small replies as they arrive, and their bytes then go
   * back to the event loop's pool: the text is rebuilt from the decoded tag.
   */
  private static String text(EventDrivenControlClient.Reply r) {
    if (r.decoded() != null) {
      assertThat(r.decoded().success()).isFalse();
      String text = reply(r.decoded().err());
      assertThat(r.length()).isEqualTo(text.length());
      return text;
    }
    return new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8);
  }

  /** A sandbox that accepts connections one after another and plays one behaviour on each, in order. */
  private final class Peer {
    final Path socket = dir.resolve("peer-" + System.nanoTime() + ".sock");
    private final List<SocketChannel> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    Peer(Behaviour... behaviours) throws IOException {
      this(List.of(behaviours));
    }

    Peer(int times, Behaviour behaviour) throws IOException {
      this(java.util.Collections.nCopies(times, behaviour));
    }

    private Peer(List<Behaviour> behaviours) throws IOException {
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      try (dev.sandboxmetrics.posix.PathHandle d = dev.sandboxmetrics.posix.PathHandle.open(socket.getParent())) {
        server.bind(UnixDomainSocketAddress.of(d.procPath().resolve(socket.getFileName())));
      }
      Thread t = new Thread(() -> {
        try (server) {
          for (Behaviour b : behaviours) {
            SocketChannel ch = server.accept();
            accepted.incrementAndGet();
            open.add(ch);
            // Each connection on its own thread: the client may hold one while it opens the next.
            Thread c = new Thread(() -> {
              try (ch) {
                b.play(ch);
              } catch (IOException e) {
                // The client went away first; the test checks what the client says.
              }
            });
            c.setDaemon(true);
            c.start();
          }
        } catch (IOException e) {
          // Closed at the end of the test.
        }
      });
      t.setDaemon(true);
      t.start();
    }

    int accepted() {
      return accepted.get();
    }
  }

  @FunctionalInterface
  private interface Behaviour {
    void play(SocketChannel ch) throws IOException;
  }

  private static void readCall(SocketChannel ch) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(CALL.length);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new IOException("the client hung up");
      }
    }
    assertThat(new String(b.array(), StandardCharsets.UTF_8)).isEqualTo(new String(CALL, StandardCharsets.UTF_8));
  }

  /** Reads until the client hangs up (what it sends meanwhile is not a call of these tests). */
  private static void awaitEof(SocketChannel ch) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(256);
    while (ch.read(b) >= 0) {
      b.clear();
    }
  }

  private static void write(SocketChannel ch, String s) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
