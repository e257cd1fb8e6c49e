package dev.sandboxmetrics.metricserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.testing.Await;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP layer on its own: routing rules, streaming, gzip, keep-alive, pipelining and timeouts. */
@Timeout(30)
class HttpServerTest {
  @TempDir Path dir;

  private final AtomicBoolean shuttingDown = new AtomicBoolean();
  private final ExecutorService work = Executors.newFixedThreadPool(2);
  /** The exchange of the last request to /held, which the endpoint leaves unanswered. */
  private final AtomicReference<Exchange> held = new AtomicReference<>();
  private EventLoopGroup group;
  private Routes routes;
  private HttpServer server;
  private InetSocketAddress tcp;
  /** The same routes with compression off (--gzip-level 0). */
  private HttpServer uncompressed;
  private InetSocketAddress uncompressedTcp;

  @BeforeEach
  void start() throws IOException {
    Transport transport = Transport.detect();
    group = transport.newEventLoopGroup(1, "test-io");
    routes =
        new Routes(shuttingDown::get)
            .get("/hello", ex -> ex.respond(HttpResponseStatus.OK, "text/plain", "hello " + ex.queryParameter("who")))
            .get("/metrics", ex -> ex.respond(HttpResponseStatus.OK, "text/plain", "query " + ex.query()))
            .get("/big", ex -> work.execute(() -> streamBig(ex)))
            .get("/own-gzip", ex -> work.execute(() -> streamOwnGzip(ex)))
            .get("/slow", ex -> work.execute(() -> {
              sleep(300);
              ex.respond(HttpResponseStatus.OK, "text/plain", "slow");
            }))
            .get("/held", held::set)
            .get("/boom", ex -> {
              throw new IllegalStateException("kaputt");
            });
    server = new HttpServer(transport, group, routes, Duration.ofMillis(700), 1);
    tcp = server.listenTcp(new InetSocketAddress("127.0.0.1", 0));
    uncompressed = new HttpServer(transport, group, routes, Duration.ofMillis(700), 0);
    uncompressedTcp = uncompressed.listenTcp(new InetSocketAddress("127.0.0.1", 0));
  }

  @AfterEach
  void stop() {
    uncompressed.stopAccepting();
    uncompressed.closeConnections();
    server.stopAccepting();
    server.closeConnections();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    work.shutdownNow();
  }

  @Test
  void servesKnownPathsAndSaysNotFoundForOthers() throws IOException {
    RawHttp.Response ok = RawHttp.get(tcp, "/hello?who=you");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.text()).isEqualTo("hello you");

    RawHttp.Response missing = RawHttp.get(tcp, "/nothing-here");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.header("content-type")).startsWith("text/plain");
    assertThat(missing.text()).isEqualTo("path not found\n");
  }

  @Test
  void wrongMethodIs405WithAllowHeader() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      RawHttp.Response r = c.request("DELETE", "/hello", null);
      assertThat(r.status()).isEqualTo(405);
      assertThat(r.header("allow")).isEqualTo("GET");
    }
  }

  @Test
  void escapedQuestionMarkOfPrometheusMetricsPathIsServedAsMetricsWithQuery() throws IOException {
    RawHttp.Response r = RawHttp.get(tcp, "/metrics%3Fa=1&b=two%20words");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.text()).isEqualTo("query {a=[1], b=[two words]}");
  }

  @Test
  void endpointFailureIsA500WithTheReason() throws IOException {
    RawHttp.Response r = RawHttp.get(tcp, "/boom");
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.text()).contains("kaputt");
  }

  @Test
  void whileShuttingDownEveryRequestIs503AndTheConnectionCloses() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      assertThat(c.request("GET", "/hello", null).status()).isEqualTo(200);
      shuttingDown.set(true);
      RawHttp.Response r = c.request("GET", "/hello", null);
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.text()).isEqualTo("server is shutting down\n");
      assertThat(r.header("connection")).isEqualTo("close");
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void keepAliveServesSeveralRequestsOnOneConnection() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      for (int i = 0; i < 3; i++) {
        RawHttp.Response r = c.request("GET", "/hello?who=" + i, null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("connection")).isEqualTo("keep-alive");
        assertThat(r.text()).isEqualTo("hello " + i);
      }
    }
  }

  @Test
  void connectionCloseIsHonoured() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      RawHttp.Response r = c.request("GET", "/hello", null, "Connection: close");
      assertThat(r.status()).isEqualTo(200);
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      c.sendRaw(("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?who=second HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      assertThat(c.read().text()).isEqualTo("slow");
      assertThat(c.read().text()).isEqualTo("hello second");
    }
  }

  @Test
  void streamedBodyArrivesWholeAndGzippedWhenAsked() throws IOException {
    RawHttp.Response plain = RawHttp.get(tcp, "/big");
    assertThat(plain.header("transfer-encoding")).isEqualTo("chunked");
    assertThat(plain.header("content-encoding")).isNull();
    String expected = bigText();
    assertThat(plain.text()).isEqualTo(expected);

    RawHttp.Response gzipped = RawHttp.get(tcp, "/big", "Accept-Encoding: gzip");
    assertThat(gzipped.header("content-encoding")).isEqualTo("gzip");
    assertThat(gzipped.body().length).isLessThan(expected.length() / 10);
    assertThat(gzipped.text()).isEqualTo(expected);
  }

  /**
   * A chunk is one hand-off to the event loop: plain text goes out in chunks of 128 KB, bytes the writer
   * compressed itself (a gzip /metrics body, ~17 times smaller) in chunks of 32 KB, so that they start
   * early.
   */
  @Test
  void aPlainBodyGoesOutInLargerChunksThanOneItsWriterCompressed() throws IOException {
    RawHttp.Response plain = RawHttp.get(tcp, "/big");
    List<Integer> text = plain.chunkSizes();
    assertThat(text).hasSizeGreaterThan(2);
    assertThat(text.subList(0, text.size() - 1)).containsOnly(StreamingBody.TEXT_CHUNK_BYTES);
    assertThat(text.get(text.size() - 1)).isBetween(1, StreamingBody.TEXT_CHUNK_BYTES);

    RawHttp.Response own = RawHttp.get(tcp, "/own-gzip", "Accept-Encoding: gzip");
    assertThat(own.header("content-encoding")).isEqualTo("gzip");
    assertThat(own.body()).hasSize(OWN_GZIP_BYTES);
    List<Integer> compressed = own.chunkSizes();
    assertThat(compressed.subList(0, compressed.size() - 1)).hasSizeGreaterThan(2)
        .containsOnly(StreamingBody.GZIP_CHUNK_BYTES);
  }

  @Test
  void gzipLevelZeroNeverCompresses() throws IOException {
    RawHttp.Response r = RawHttp.get(uncompressedTcp, "/big", "Accept-Encoding: gzip, deflate");
    assertThat(r.header("content-encoding")).isNull();
    assertThat(r.text()).isEqualTo(bigText());
  }

  @Test
  void deflateAloneIsAnsweredUncompressed() throws IOException {
    RawHttp.Response r = RawHttp.get(tcp, "/big", "Accept-Encoding: deflate");
    assertThat(r.header("content-encoding")).isNull();
    assertThat(r.text()).isEqualTo(bigText());
  }

  @Test
  void http10ClientGetsAStreamedBodyWithoutChunksEndedByClosing() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      c.sendRaw("GET /big HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      RawHttp.Response r = c.read();
      assertThat(r.header("transfer-encoding")).isNull();
      assertThat(r.header("connection")).isEqualTo("close");
      assertThat(r.text()).isEqualTo(bigText());
    }
  }

  @Test
  void aRequestWhoseClientLeftIsNoLongerInFlightEvenIfItIsAnsweredLate() throws Exception {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      c.send("GET", "/held", null);
      Await.until("the request to be served", () -> held.get() != null);
      assertThat(routes.inFlight()).isEqualTo(1);
    }
    // Shutdown waits while requests are in flight: an unanswered request of a client that went away must not
    // count (profile-cpu never answers one), or shutdown waits its whole grace period for it.
    Await.until("the request to end with its connection", () -> routes.inFlight() == 0);

    // The endpoint answering after all (into the closed connection) does not end the request a second time.
    // On the event loop, the failed write ends the exchange at once and queues the router's completion on
    // the same loop, so a task queued after it runs after the completion.
    group.submit(() -> held.get().respond(HttpResponseStatus.OK, "text/plain", "late")).sync();
    group.submit(() -> {}).sync();
    assertThat(routes.inFlight()).isEqualTo(0);
  }

  @Test
  void idleConnectionIsClosedAfterTheTimeout() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      assertThat(c.request("GET", "/hello", null).status()).isEqualTo(200);
      // No further request: the server closes the connection after its (test-short) timeout.
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void requestLineTooLongIs414() throws IOException {
    RawHttp.Response r = RawHttp.get(tcp, "/hello?who=" + "x".repeat(HttpServer.MAX_INITIAL_LINE + 10));
    assertThat(r.status()).isEqualTo(414);
  }

  @Test
  void headersTooLargeAre431() throws IOException {
    try (RawHttp c = RawHttp.tcp(tcp)) {
      RawHttp.Response r = c.request("GET", "/hello", null, "X-Big: " + "y".repeat(HttpServer.MAX_HEADER_BYTES + 10));
      assertThat(r.status()).isEqualTo(431);
    }
  }

  @Test
  void servesOnAUnixSocketToo() throws IOException {
    Path socket = dir.resolve("http.sock");
    server.listenUnix(socket);
    try (RawHttp c = RawHttp.unix(socket)) {
      assertThat(c.request("GET", "/hello?who=unix", null).text()).isEqualTo("hello unix");
    }
  }

  @Test
  void unixSocketPathLongerThanSockaddrUnIsBoundThroughItsDirectory() throws IOException {
    Path deep = Files.createDirectories(dir.resolve("d".repeat(60)).resolve("e".repeat(60)));
    Path socket = deep.resolve("metrics.sock");
    assertThat(socket.toString().length()).isGreaterThan(108);
    server.listenUnix(socket);
    assertThat(Files.exists(socket)).isTrue();
    // The client side of a long path connects through /proc/self/fd too.
    try (dev.sandboxmetrics.posix.PathHandle h = dev.sandboxmetrics.posix.PathHandle.open(socket);
        RawHttp c = RawHttp.unix(h.procPath())) {
      assertThat(c.request("GET", "/hello?who=long", null).text()).isEqualTo("hello long");
    }
  }

  private static String bigText() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 20_000; i++) {
      b.append("runsc_fs_opens{sandbox=\"s").append(i % 7).append("\"} ").append(i).append('\n');
    }
    return b.toString();
  }

  /** The length of /own-gzip's body: bytes its writer calls compressed (the HTTP layer does not look). */
  private static final int OWN_GZIP_BYTES = 200_000;

  private static void streamOwnGzip(Exchange ex) {
    StreamingBody body = ex.startStream("application/octet-stream", true);
    try (OutputStream out = body) {
      out.write(new byte[OWN_GZIP_BYTES]);
    } catch (IOException e) {
      body.abort();
    }
  }

  private static void streamBig(Exchange ex) {
    StreamingBody body = ex.startStream("text/plain");
    try (OutputStream out = body) {
      out.write(bigText().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      body.abort();
    }
  }

  /** Polls {@code condition} until it holds; fails naming {@code what} after 10 s. */

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
