package dev.sandboxmetrics.runsc.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.posix.PathHandle;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.json.RunscReplies;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against a real Unix socket whose other end does what a good or a bad sandbox would do. */
@SuppressWarnings("try") // try-with-resources keeps a scripted server listening for the block's duration
class BlockingControlClientTest {
  private static final Duration SHORT = Duration.ofMillis(300);
  private static final Duration GENEROUS = Duration.ofSeconds(20);
  private static final int MAX = BlockingControlClient.DEFAULT_MAX_REPLY_BYTES;

  private static final Snapshot SNAPSHOT = new Snapshot(Instant.parse("2024-01-02T03:04:05.678901234Z"), List.of(
      DataPoint.of(new Metric("fs_opens", MetricType.COUNTER, "Number of file opens."), Labels.EMPTY, Value.ofInt(62)),
      DataPoint.of(new Metric("gofer_fs_reads", MetricType.COUNTER, "Reads."), Labels.of("op", "x"), Value.ofInt(3))));

  @TempDir Path dir;

  /** Released when a test ends, so that scripts that stall do not outlive it. */
  private final CountDownLatch testOver = new CountDownLatch(1);

  @AfterEach
  void endStalls() {
    testOver.countDown();
  }

  private static byte[] exportReply(Snapshot snapshot) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeExportReply(out, snapshot);
    return out.toByteArray();
  }

  private Path socket() {
    return dir.resolve("runsc-s1.sock");
  }

  private Snapshot export(String filter, Duration timeout, int max) throws ControlException {
    return BlockingControlClient.export(socket(), MetricNameFilter.compile(filter), timeout, max);
  }

  private static void assertFails(ThrowingCallable call, ControlException.Kind kind, String messagePart) {
    assertThatThrownBy(call)
        .isInstanceOf(ControlException.class)
        .satisfies(e -> assertThat(((ControlException) e).kind()).isEqualTo(kind))
        .hasMessageContaining(messagePart);
  }

  private ScriptedControlServer replying(byte[] reply) throws IOException {
    return ScriptedControlServer.start(socket(), (server, c) -> {
      server.readCall(c);
      ScriptedControlServer.send(c, reply);
    });
  }

  @Test
  void exportSendsTheFilterAndReturnsTheSnapshot() throws Exception {
    try (var server = replying(exportReply(SNAPSHOT))) {
      assertThat(export("fs_", GENEROUS, MAX)).isEqualTo(SNAPSHOT);
      assertThat(server.requests).containsExactly(
          "{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"fs_\"}}");
    }
  }

  @Test
  void replyTricklingInByteByByteIsReassembled() throws Exception {
    byte[] reply = exportReply(SNAPSHOT);
    try (var server = ScriptedControlServer.start(socket(), (s, c) -> {
      s.readCall(c);
      for (byte b : reply) {
        ScriptedControlServer.send(c, new byte[] {b});
      }
    })) {
      assertThat(export("", GENEROUS, MAX)).isEqualTo(SNAPSHOT);
    }
  }

  @Test
  void missingSocket() {
    assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.SOCKET_MISSING,
        "control socket " + socket() + ": does not exist");
  }

  @Test
  void socketNobodyListensOn() throws Exception {
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(socket()));
    }
    // The file stays, as after kill -9 of a sandbox.
    assertThat(Files.exists(socket())).isTrue();
    assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.CONNECTION_REFUSED, "connection refused");
  }

  @Test
  void sandboxThatNeverRepliesTimesOut() throws Exception {
    try (var server = ScriptedControlServer.start(socket(), (s, c) -> {
      s.readCall(c);
      testOver.await();
    })) {
      long start = System.nanoTime();
      assertFails(() -> export("", SHORT, MAX), ControlException.Kind.TIMED_OUT, "timed out waiting for the reply");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(GENEROUS);
    }
  }

  @Test
  void sandboxThatStallsMidReplyTimesOut() throws Exception {
    byte[] reply = exportReply(SNAPSHOT);
    try (var server = ScriptedControlServer.start(socket(), (s, c) -> {
      s.readCall(c);
      ScriptedControlServer.send(c, Arrays.copyOf(reply, 10));
      testOver.await();
    })) {
      assertFails(() -> export("", SHORT, MAX), ControlException.Kind.TIMED_OUT, "(10 bytes so far)");
    }
  }

  @Test
  void sandboxThatNeverAcceptsTimesOut() throws Exception {
    try (ServerSocketChannel deaf = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      deaf.bind(UnixDomainSocketAddress.of(socket()), 1);
      assertFails(() -> export("", SHORT, MAX), ControlException.Kind.TIMED_OUT, "timed out");
    }
  }

  @Test
  void connectionClosedWithoutReply() throws Exception {
    try (var server = ScriptedControlServer.start(socket(), (s, c) -> s.readCall(c))) {
      assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.CLOSED_WITHOUT_REPLY,
          "closed the connection without replying");
    }
  }

  @Test
  void truncatedReplyIsMalformed() throws Exception {
    byte[] reply = exportReply(SNAPSHOT);
    try (var server = replying(Arrays.copyOf(reply, reply.length / 2))) {
      assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.MALFORMED_REPLY,
          "cut off: the connection closed after " + reply.length / 2 + " bytes");
    }
  }

  @Test
  void garbageIsMalformed() throws Exception {
    try (var server = replying("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes())) {
      assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.MALFORMED_REPLY, "not a JSON object");
    }
  }

  @Test
  void jsonOfTheWrongShapeIsMalformed() throws Exception {
    try (var server = replying("{\"success\":true,\"result\":{\"snapshot\":{\"data\":7}}}".getBytes())) {
      assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.MALFORMED_REPLY,
          "malformed reply to Metrics.Export");
    }
  }

  @Test
  void replyLargerThanTheMaximumIsRefused() throws Exception {
    byte[] reply = exportReply(SNAPSHOT);
    try (var server = replying(reply)) {
      assertFails(() -> export("", GENEROUS, reply.length - 1), ControlException.Kind.REPLY_TOO_LARGE,
          "exceeds the maximum of " + (reply.length - 1) + " bytes");
    }
    try (var server = replying(reply)) {
      assertThat(export("", GENEROUS, reply.length)).isEqualTo(SNAPSHOT);
    }
  }

  @Test
  void endlessReplyStopsAtTheMaximum() throws Exception {
    try (var server = ScriptedControlServer.start(socket(), (s, c) -> {
      s.readCall(c);
      ScriptedControlServer.send(c, "{\"success\":true,\"err\":\"");
      byte[] chunk = new byte[64 << 10];
      Arrays.fill(chunk, (byte) 'x');
      while (testOver.getCount() > 0) {
        ScriptedControlServer.send(c, chunk);
      }
    })) {
      assertFails(() -> export("", GENEROUS, 1 << 20), ControlException.Kind.REPLY_TOO_LARGE,
          "exceeds the maximum of 1048576 bytes");
    }
  }

  @Test
  void remoteErrorCarriesTheSandboxesText() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeErrorReply(out, "cannot compile regexp \"(\": missing )\nsecond line");
    try (var server = replying(out.toByteArray())) {
      assertFails(() -> export("", GENEROUS, MAX), ControlException.Kind.REMOTE_ERROR,
          "the sandbox failed Metrics.Export: cannot compile regexp \"(\": missing )\\nsecond line");
    }
  }

  @Test
  void sandboxIgnoringTheFilterIsCaught() throws Exception {
    try (var server = replying(exportReply(SNAPSHOT))) {
      assertFails(() -> export("^fs_", GENEROUS, MAX), ControlException.Kind.FILTER_VIOLATED,
          "it returned metric \"gofer_fs_reads\", which does not match the regular expression \"^fs_\"");
    }
  }

  @Test
  void filterMatchesAnywhereInTheNameAsTheSandboxApplies() throws Exception {
    // "fs_" keeps gofer_fs_reads too: Go's MatchString is an unanchored search.
    try (var server = replying(exportReply(SNAPSHOT))) {
      assertThat(export("fs_", GENEROUS, MAX).data()).hasSize(2);
    }
  }

  @Test
  void socketPathOf108BytesOrMoreIsReachedThroughProc() throws Exception {
    Path deep = dir;
    while (deep.toString().length() < 120) {
      deep = deep.resolve("a-rather-long-directory-name");
    }
    Files.createDirectories(deep);
    Path longSocket = deep.resolve("runsc-s1.sock");
    assertThat(PathHandle.tooLongForSocket(longSocket)).isTrue();
    try (var server = ScriptedControlServer.startVia(dir.resolve("short.sock"), longSocket, (s, c) -> {
      s.readCall(c);
      ScriptedControlServer.send(c, exportReply(SNAPSHOT));
    })) {
      assertThat(BlockingControlClient.export(longSocket, MetricNameFilter.ALL, GENEROUS, MAX)).isEqualTo(SNAPSHOT);
    }
  }
}
