package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithData;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.http.ConnectionPolicy;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.ServerFixture;
import dev.sandboxmetrics.simulator.Profile;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.Simulator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 11, the HTTP side, attacked for real: a metric server over real TCP and Unix sockets, simulated
 * sandboxes, and clients that hold connections, never read their responses, pipeline too much or speak
 * another HTTP version. Every attack must leave normal scrapes served with every sandbox.
 */
@Timeout(60)
class HostileClientsTest {
  private static final int SANDBOXES = 10;

  @RegisterExtension final ServerFixture fixture = new ServerFixture();

  /** A server on TCP (the sandboxes' address) and on a Unix socket, with SANDBOXES bench-sized sandboxes. */
  private MetricServer serverWithSandboxes(MetricServerOptions options) throws Exception {
    Simulator sim = fixture.simulator("127.0.0.1:0");
    for (int i = 0; i < SANDBOXES; i++) {
      sim.createRunning(SandboxSpec.builder(String.format("s%02d", i)).profile(Profile.BENCH).build());
    }
    return fixture.server(options.withExtraListenAddresses(List.of(fixture.socket().toString())));
  }

  private MetricServerOptions defaults() {
    return fixture.options("127.0.0.1:0");
  }

  private static void assertFullScrape(SocketAddress address) throws IOException {
    RawHttp.Response r = RawHttp.get(address, "/metrics");
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(sandboxesWithData(r.text(), "runsc_")).hasSize(SANDBOXES);
  }

  /** A connection that sends {@code requests} pipelined GET /metrics and then reads nothing. */
  private SocketChannel nonReader(SocketAddress address, int requests) throws IOException {
    SocketChannel ch =
        address instanceof UnixDomainSocketAddress ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
    fixture.closeAfter(ch);
    if (!(address instanceof UnixDomainSocketAddress)) {
      ch.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
    }
    ch.connect(address);
    ch.write(ByteBuffer.wrap("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(requests).getBytes(StandardCharsets.US_ASCII)));
    return ch;
  }

  @Test
  void clientsThatNeverReadDoNotStallOtherScrapes() throws Exception {
    // The default HTTP timeout (1 min) is longer than this test may run: a worker waiting for a non-reading
    // client to drain its socket, as before, would hold up the scrapes below until the test times out.
    MetricServer server = serverWithSandboxes(defaults());
    InetSocketAddress tcp = server.tcpAddress();
    UnixDomainSocketAddress unix = UnixDomainSocketAddress.of(fixture.socket());
    RawHttp.Response first = RawHttp.get(tcp, "/metrics");
    assertThat(first.body().length).as("a response larger than a Unix socket's buffer").isGreaterThan(250_000);

    List<SocketChannel> attackers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      attackers.add(nonReader(tcp, 16));
      attackers.add(nonReader(unix, 16));
    }
    for (int i = 0; i < 6; i++) {
      assertFullScrape(i % 2 == 0 ? tcp : unix);
    }
    for (SocketChannel a : attackers) {
      assertThat(a.isOpen()).isTrue();
    }
  }

  @Test
  void aResponseWithoutProgressForTheHttpTimeoutIsClosed() throws Exception {
    MetricServer server = serverWithSandboxes(defaults().withHttpTimeout(Duration.ofSeconds(2)));
    SocketChannel stuck = nonReader(UnixDomainSocketAddress.of(fixture.socket()), 8);
    awaitOpenConnections(server, 1);
    // Nothing is read: the server must give up on the stuck response and close the connection.
    awaitOpenConnections(server, 0);
    String received = new String(readToEnd(stuck), StandardCharsets.ISO_8859_1);
    assertThat(count(received, "HTTP/1.1 200 OK")).as("responses sent before the server closed").isBetween(1, 7);
    assertFullScrape(server.tcpAddress());
  }

  private static void awaitOpenConnections(MetricServer server, int n) throws InterruptedException {
    while (server.openConnections() != n) {
      Thread.sleep(20);
    }
  }

  private static byte[] readToEnd(SocketChannel ch) throws IOException {
    return java.nio.channels.Channels.newInputStream(ch).readAllBytes();
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void beyondMaxConnectionsTheLongestIdleAreClosedAndScrapesStillWork() throws Exception {
    int max = 20;
    MetricServer server =
        serverWithSandboxes(defaults().withConnections(ConnectionPolicy.DEFAULT.withMaxConnections(max)));
    InetSocketAddress tcp = server.tcpAddress();
    List<SocketChannel> idle = new ArrayList<>();
    for (int i = 0; i < 3 * max; i++) {
      SocketChannel c = SocketChannel.open(tcp);
      fixture.closeAfter(c);
      c.configureBlocking(false);
      idle.add(c);
    }
    assertFullScrape(tcp);
    assertFullScrape(UnixDomainSocketAddress.of(fixture.socket()));
    // The last scrape's own connection may still be closing for a moment (and two event loops accepting at
    // once may pass the limit by one): the bound holds once it has gone.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (server.openConnections() > max && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(server.openConnections()).isLessThanOrEqualTo(max);
    // Idle connections were closed to make room: all but at most max of ours.
    while (closedByServer(idle) < 2 * max) {
      Thread.sleep(20);
    }
    String text = RawHttp.get(tcp, "/metrics").text();
    assertThat(refused(text, "max_connections")).isGreaterThanOrEqualTo(2L * max);
    assertThat(refused(text, "peer_credentials")).isZero();
    assertFullScrape(tcp);
  }

  private static int closedByServer(List<SocketChannel> connections) throws IOException {
    int closed = 0;
    for (SocketChannel c : connections) {
      if (c.read(ByteBuffer.allocate(1)) < 0) {
        closed++;
      }
    }
    return closed;
  }

  static long refused(String exposition, String reason) {
    Matcher m =
        Pattern.compile("(?m)^runsc_meta_refused_connections_total\\{reason=\"" + reason + "\"} (\\d+)").matcher(exposition);
    assertThat(m.find()).as("refused_connections_total{reason=%s} in %s", reason, exposition).isTrue();
    return Long.parseLong(m.group(1));
  }

  @Test
  void tooManyPipelinedRequestsGet429BeforeTheConnectionCloses() throws Exception {
    MetricServer server = serverWithSandboxes(defaults());
    try (RawHttp c = RawHttp.tcp(server.tcpAddress())) {
      c.sendRaw("GET /runsc-metrics/pid HTTP/1.1\r\nHost: x\r\n\r\n".repeat(40).getBytes(StandardCharsets.US_ASCII));
      List<Integer> statuses = new ArrayList<>();
      while (true) {
        RawHttp.Response r;
        try {
          r = c.read();
        } catch (IOException e) {
          break;
        }
        statuses.add(r.status());
        if (r.status() != 200) {
          assertThat(r.header("connection")).isEqualTo("close");
          assertThat(r.text()).contains("too many pipelined requests");
          break;
        }
      }
      assertThat(statuses).hasSize(18).endsWith(429);
      assertThat(statuses.subList(0, 17)).containsOnly(200);
      assertThat(c.closedByServer()).isTrue();
    }
    assertFullScrape(server.tcpAddress());
  }

  @Test
  void unknownHttpVersionsGet505() throws Exception {
    MetricServer server = serverWithSandboxes(defaults());
    for (String version : List.of("HTTP/2.0", "HTTP/3.0", "HTTP/0.9")) {
      try (RawHttp c = RawHttp.tcp(server.tcpAddress())) {
        c.sendRaw(("GET /metrics " + version + "\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        RawHttp.Response r = c.read();
        assertThat(r.status()).as(version).isEqualTo(505);
        assertThat(c.closedByServer()).isTrue();
      }
    }
    try (RawHttp c = RawHttp.tcp(server.tcpAddress())) {
      c.sendRaw("GET /runsc-metrics/pid HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(c.read().status()).isEqualTo(200);
    }
    assertFullScrape(server.tcpAddress());
  }
}
