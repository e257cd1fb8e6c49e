package dev.sandboxmetrics.metricserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streamed responses to clients that do not read, on a real Unix socket: the writer never waits (the single
 * worker thread here serves every request); over the budget, the response that made no progress the longest
 * is cut off, while a client that reads gets its whole response even when it is larger than the budget.
 */
@Timeout(60)
class ResponseBudgetTest {
  private static final int BODY_BYTES = 4_000_000;
  private static final long BUDGET = 1 << 20;

  @TempDir Path dir;

  private final ExecutorService oneWorker = Executors.newSingleThreadExecutor();
  private final AtomicInteger streamsFinished = new AtomicInteger();
  private EventLoopGroup group;
  private HttpServer server;
  private Path socket;

  @BeforeEach
  void start() throws IOException {
    Transport transport = Transport.detect();
    group = transport.newEventLoopGroup(1, "test-io");
    Routes routes = new Routes(() -> false).get("/big", ex -> oneWorker.execute(() -> streamBig(ex)));
    server = new HttpServer(transport, group, routes, Duration.ofSeconds(30), 0, ConnectionPolicy.DEFAULT, BUDGET);
    socket = dir.resolve("s.sock");
    server.listenUnix(socket);
  }

  @AfterEach
  void stop() {
    server.stopAccepting();
    server.closeConnections();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    oneWorker.shutdownNow();
  }

  private void streamBig(Exchange ex) {
    StreamingBody body = ex.startStream("text/plain");
    byte[] line = new byte[1000];
    Arrays.fill(line, (byte) 'x');
    try (OutputStream out = body) {
      for (int i = 0; i < BODY_BYTES / line.length; i++) {
        out.write(line);
      }
    } catch (IOException e) {
      body.abort();
    }
    streamsFinished.incrementAndGet();
  }

  private SocketChannel nonReader() throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    ch.connect(UnixDomainSocketAddress.of(socket));
    ch.write(ByteBuffer.wrap("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
    return ch;
  }

  @Test
  void aClientThatStoppedReadingIsCutOffAtTheBudgetWhileAReaderIsServed() throws Exception {
    try (SocketChannel stalled = nonReader()) {
      // The single worker finished writing the whole response although nobody reads it.
      while (streamsFinished.get() < 1) {
        Thread.sleep(10);
      }
      // Stalled is defined by time: the response must have made no progress for a second to be cut off.
      Thread.sleep(TimeUnit.NANOSECONDS.toMillis(ResponseBudget.STALLED_NANOS) + 200);

      // A client that reads gets its whole response, although it is larger than the budget, and while
      // it is written the stalled response is cut off.
      try (RawHttp reader = RawHttp.unix(socket)) {
        RawHttp.Response r = reader.request("GET", "/big", null);
        assertThat(r.status()).isEqualTo(HttpResponseStatus.OK.code());
        assertThat(r.body()).hasSize(BODY_BYTES);
      }
      long received = Channels.newInputStream(stalled).transferTo(OutputStream.nullOutputStream());
      assertThat(received).as("bytes of the cut-off response").isLessThan(BODY_BYTES);
      while (server.pendingResponseBytes() > 0) {
        Thread.sleep(10);
      }
    }
  }
}
