package dev.sandboxmetrics.metricserver.collect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.runsc.control.ReplyBudget;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscReplies;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The non-blocking control-socket client against a hand-written peer on a real Unix socket: how replies are
 * framed, bounded and timed out. (The simulator covers the protocol end to end in the scrape tests.)
 */
@Timeout(30)
class EventDrivenControlClientTest {
  @TempDir Path dir;

  private final Transport transport = Transport.detect();
  private final EventLoopGroup group = transport.newEventLoopGroup(1, "client-test");
  private final EventDrivenControlClient client = new EventDrivenControlClient(transport, group, 4096);
  private static final byte[] CALL = "{\"method\":\"Metrics.Export\",\"arg\":{}}".getBytes(StandardCharsets.UTF_8);

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  @Test
  void replyArrivingInPiecesIsReturnedWholeUpToTheEndOfTheJsonValue() throws Exception {
    String reply = "{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{\"data\":[{\"s\":\"}{\"}]}}}";
    Path socket = peer(ch -> {
      readCall(ch);
      for (int i = 0; i < reply.length(); i += 7) {
        write(ch, reply.substring(i, Math.min(reply.length(), i + 7)));
        sleep(5);
      }
      sleep(2000); // Does not hang up: the client must see the end of the value by itself.
    });
    EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5)).get();
    assertThat(new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8)).isEqualTo(reply);
  }

  @Test
  void wholeReplyInOnePieceComesBackDecoded() throws Exception {
    byte[] reply = exportReply();
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, new String(reply, StandardCharsets.UTF_8));
      sleep(2000);
    });
    EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5)).get();
    assertThat(r.decoded()).isNotNull();
    assertThat(r.decoded().snapshot()).isEqualTo(SNAPSHOT);
    assertThat(r.length()).isEqualTo(reply.length);
    // Decoded on the way, its array went back to the event loop's pool for the next reply.
    assertThatThrownBy(r::bytes).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void replyLargerOrSmallerThanExpectedArrivesWhole() throws Exception {
    byte[] reply = exportReply();
    for (int expected : new int[] {1, reply.length / 3, reply.length * 4}) {
      Path socket = peer(ch -> {
        readCall(ch);
        write(ch, new String(reply, StandardCharsets.UTF_8));
        sleep(2000);
      });
      EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5), expected).get();
      assertThat(r.length()).as("expected %d bytes", expected).isEqualTo(reply.length);
      if (r.decoded() == null) {
        assertThat(Arrays.copyOf(r.bytes(), r.length())).as("expected %d bytes", expected).isEqualTo(reply);
      }
      // Past the first piece the reply is framed, not decoded on the way: the caller decodes the bytes.
      var decoded = r.decoded() != null ? r.decoded() : RunscJson.readExportReply(r.bytes(), 0, r.length());
      assertThat(decoded.snapshot()).isEqualTo(SNAPSHOT);
    }
  }

  @Test
  void pieceEndingInABraceBeforeTheEndIsNotTakenForTheWholeReply() throws Exception {
    byte[] reply = exportReply();
    String text = new String(reply, StandardCharsets.UTF_8);
    int innerEnd = text.indexOf('}') + 1; // closes the first metric object, deep inside the reply
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, text.substring(0, innerEnd));
      sleep(200);
      write(ch, text.substring(innerEnd));
      sleep(2000);
    });
    EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5)).get();
    assertThat(new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8).strip()).isEqualTo(text.strip());
    // The framer found the end after the failed attempt; the collector decodes these bytes itself.
    assertThat(RunscJson.readExportReply(r.bytes(), 0, r.length()).snapshot()).isEqualTo(SNAPSHOT);
  }

  @Test
  void twoRepliesInOnePieceYieldTheFirst() throws Exception {
    String one = "{\"success\":true,\"err\":\"x\"}";
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, one + one);
      sleep(2000);
    });
    EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5)).get();
    assertThat(new String(r.bytes(), 0, r.length(), StandardCharsets.UTF_8)).isEqualTo(one);
  }

  @Test
  void hangingUpWithoutAReplyIsAnError() {
    Path socket = peer(ch -> readCall(ch));
    assertThat(failure(client.call(socket, CALL, Duration.ofSeconds(5))))
        .startsWith("the sandbox closed the connection without replying");
  }

  @Test
  void hangingUpHalfWayIsAnError() {
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, "{\"success\":true,\"result\":{");
    });
    assertThat(failure(client.call(socket, CALL, Duration.ofSeconds(5))))
        .isEqualTo("the reply was cut off: the connection closed after 26 bytes");
  }

  @Test
  void replyLargerThanTheLimitIsRejectedWithoutReadingItAll() {
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, "{\"x\":\"" + "a".repeat(10_000) + "\"}");
    });
    assertThat(failure(client.call(socket, CALL, Duration.ofSeconds(5))))
        .startsWith("the reply exceeds the maximum of 4096 bytes");
  }

  @Test
  void stalledPeerCostsTheDeadlineOnly() {
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, "{\"succ");
      sleep(10_000);
    });
    long start = System.nanoTime();
    assertThat(failure(client.call(socket, CALL, Duration.ofMillis(300))))
        .isEqualTo("no complete reply within 300ms (6 bytes received)");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void notJsonIsAMalformedReply() {
    Path socket = peer(ch -> {
      readCall(ch);
      write(ch, "HTTP/1.1 200 OK\r\n\r\n");
    });
    assertThat(failure(client.call(socket, CALL, Duration.ofSeconds(5)))).startsWith("the reply is not a JSON object");
  }

  @Test
  void missingSocketCannotBeConnected() {
    assertThat(failure(client.call(dir.resolve("nobody.sock"), CALL, Duration.ofSeconds(5))))
        .isEqualTo("does not exist");
  }

  @Test
  void socketPathTooLongForSockaddrUnIsReachedThroughProcSelfFd() throws Exception {
    Path deep = Files.createDirectories(dir.resolve("x".repeat(70)).resolve("y".repeat(40)));
    Path socket = deep.resolve("runsc-sandbox.sock");
    assertThat(socket.toString().length()).isGreaterThanOrEqualTo(108);
    peerAt(socket, ch -> {
      readCall(ch);
      write(ch, "{\"success\":true}");
    });
    EventDrivenControlClient.Reply r = client.call(socket, CALL, Duration.ofSeconds(5)).get();
    assertThat(r.length()).isEqualTo("{\"success\":true}".length());
  }

  @Test
  void theEventCallCarriesTheContainerIdAsABareJsonString() {
    // runsc's Sandbox.Event passes the ID itself as the argument (docs/runsc-protocol.md, section 3).
    assertThat(new String(ControlProtocol.eventCall("pod-\"1\""), StandardCharsets.UTF_8))
        .isEqualTo("{\"method\":\"containerManager.Event\",\"arg\":\"pod-\\\"1\\\"\"}");
  }

  @Test
  void callEachSendsTheCallsInTurnOnOneConnectionAndChargesTheBudgetUntilReleased() throws Exception {
    ReplyBudget budget = new ReplyBudget(1 << 20);
    EventDrivenControlClient budgeted = new EventDrivenControlClient(transport, group, 4096, budget);
    String a = "{\"success\":true,\"result\":{\"id\":\"a\"}}";
    String b = "{\"success\":true,\"result\":{\"id\":\"b\"}}";
    // The peer accepts one connection only: both answers must come over it.
    Path socket = peer(ch -> {
      readExactly(ch, ControlProtocol.eventCall("a"));
      write(ch, a);
      readExactly(ch, ControlProtocol.eventCall("b"));
      write(ch, b.substring(0, 9));
      sleep(50);
      write(ch, b.substring(9));
      sleep(2000);
    });
    EventDrivenControlClient.Replies r = budgeted.callEach(socket,
        List.of(ControlProtocol.eventCall("a"), ControlProtocol.eventCall("b")), Duration.ofSeconds(5), 16).get();
    assertThat(r.failure()).isNull();
    assertThat(r.replies()).extracting(x -> new String(x.bytes(), 0, x.length(), StandardCharsets.UTF_8))
        .containsExactly(a, b);
    assertThat(budget.used()).isPositive();
    r.replies().forEach(EventDrivenControlClient.Reply::release);
    assertThat(budget.used()).isZero();
  }

  @Test
  void callEachStopsAtTheFirstFailureAndKeepsTheRepliesBeforeIt() throws Exception {
    ReplyBudget budget = new ReplyBudget(1 << 20);
    EventDrivenControlClient budgeted = new EventDrivenControlClient(transport, group, 4096, budget);
    String a = "{\"success\":true}";
    Path socket = peer(ch -> {
      readExactly(ch, ControlProtocol.eventCall("a"));
      write(ch, a);
      readExactly(ch, ControlProtocol.eventCall("b"));
      write(ch, a + a); // answers what it was not asked
      sleep(2000);
    });
    EventDrivenControlClient.Replies r = budgeted.callEach(socket, List.of(ControlProtocol.eventCall("a"),
        ControlProtocol.eventCall("b"), ControlProtocol.eventCall("c")), Duration.ofSeconds(5), 16).get();
    assertThat(r.replies()).hasSize(1);
    assertThat(r.failure().kind()).isEqualTo(ControlException.Kind.MALFORMED_REPLY);
    assertThat(r.failure().problem()).isEqualTo("the sandbox sent more than one reply");
    r.replies().forEach(EventDrivenControlClient.Reply::release);
    // The reply in progress was given back on the event loop when the call failed.
    assertThat(budget.used()).isZero();
  }

  @Test
  void callEachOfAStalledSandboxEndsAtTheDeadline() throws Exception {
    Path socket = peer(ch -> {
      readExactly(ch, ControlProtocol.eventCall("a"));
      write(ch, "{\"success\":true}");
      sleep(10_000);
    });
    EventDrivenControlClient.Replies r = client.callEach(socket,
        List.of(ControlProtocol.eventCall("a"), ControlProtocol.eventCall("b")), Duration.ofMillis(300), 0).get();
    assertThat(r.replies()).hasSize(1);
    assertThat(r.failure().kind()).isEqualTo(ControlException.Kind.TIMED_OUT);
    assertThat(r.failure().problem()).isEqualTo("no complete reply within 300ms (nothing received)");
    r.replies().forEach(EventDrivenControlClient.Reply::release);
  }

  @Test
  void callEachToAMissingSocketFailsTheFirstCall() throws Exception {
    EventDrivenControlClient.Replies r = client.callEach(dir.resolve("nobody.sock"),
        List.of(ControlProtocol.eventCall("a")), Duration.ofSeconds(5), 0).get();
    assertThat(r.replies()).isEmpty();
    assertThat(r.failure().kind()).isEqualTo(ControlException.Kind.SOCKET_MISSING);
  }

  private static final Snapshot SNAPSHOT = new Snapshot(Instant.parse("2024-01-02T03:04:05.678901234Z"), List.of(
      DataPoint.of(new Metric("fs_opens", MetricType.COUNTER, "Number of file opens."), Labels.EMPTY, Value.ofInt(62)),
      DataPoint.of(new Metric("fs_reads", MetricType.COUNTER, "Reads."), Labels.of("op", "x"), Value.ofInt(3))));

  private static byte[] exportReply() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      RunscReplies.writeExportReply(out, SNAPSHOT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private Path peer(Consumer<SocketChannel> behaviour) {
    Path socket = dir.resolve("peer-" + System.nanoTime() + ".sock");
    peerAt(socket, behaviour);
    return socket;
  }

  /** A one-connection peer: binds (through /proc/self/fd when the path is long), accepts, behaves, hangs up. */
  private static void peerAt(Path socket, Consumer<SocketChannel> behaviour) {
    try {
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      try (dev.sandboxmetrics.posix.PathHandle d = dev.sandboxmetrics.posix.PathHandle.open(socket.getParent())) {
        server.bind(UnixDomainSocketAddress.of(d.procPath().resolve(socket.getFileName())));
      }
      Thread t = new Thread(() -> {
        try (server; SocketChannel ch = server.accept()) {
          behaviour.accept(ch);
        } catch (IOException e) {
          // The client went away first; fine for these tests.
        }
      });
      t.setDaemon(true);
      t.start();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void readCall(SocketChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(CALL.length);
      while (b.hasRemaining() && ch.read(b) >= 0) {
        // until the whole call is in
      }
      assertThat(new String(b.array(), StandardCharsets.UTF_8)).isEqualTo(new String(CALL, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void readExactly(SocketChannel ch, byte[] expected) {
    try {
      ByteBuffer b = ByteBuffer.allocate(expected.length);
      while (b.hasRemaining() && ch.read(b) >= 0) {
        // until the whole call is in
      }
      assertThat(new String(b.array(), StandardCharsets.UTF_8)).isEqualTo(new String(expected, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void write(SocketChannel ch, String s) {
    try {
      ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
      while (b.hasRemaining()) {
        ch.write(b);
      }
    } catch (IOException e) {
      // The client closed first (e.g. after its limit); the test checks what the client says.
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String failure(CompletableFuture<?> f) {
    try {
      f.join();
      throw new AssertionError("expected a failure");
    } catch (CompletionException e) {
      assertThat(e.getCause()).isInstanceOf(ControlException.class);
      return ((ControlException) e.getCause()).problem();
    }
  }
}
