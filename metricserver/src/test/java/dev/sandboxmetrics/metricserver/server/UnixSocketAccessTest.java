package dev.sandboxmetrics.metricserver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.metricserver.http.ConnectionPolicy;
import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.metricserver.testing.ServerFixture;
import dev.sandboxmetrics.metricserver.transport.Transport;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 11 item 9: who may use the Unix socket. The socket file's mode (runsc's 0777 by default,
 * {@code --socket-mode}), and the caller allow-list by SO_PEERCRED ({@code --allow-peer-uid},
 * {@code --allow-peer-gid}) checked on a real server over a real socket: a refused caller is closed without
 * an answer and counted; an allowed one is served; on the NIO transport an allow-list cannot start.
 */
@Timeout(60)
class UnixSocketAccessTest {
  @RegisterExtension final ServerFixture fixture = new ServerFixture();

  private int uid;
  private int gid;

  @BeforeEach
  void whoAmI() throws IOException {
    Files.createDirectories(root());
    uid = ((Number) Files.getAttribute(root(), "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue();
    gid = ((Number) Files.getAttribute(root(), "unix:gid", LinkOption.NOFOLLOW_LINKS)).intValue();
  }

  private Path root() {
    return fixture.root();
  }

  private Path socket() {
    return fixture.socket();
  }

  private MetricServer server(ConnectionPolicy policy) throws StartupException {
    return fixture.server(
        fixture.options("127.0.0.1:0")
            .withExtraListenAddresses(List.of(socket().toString()))
            .withConnections(policy));
  }

  @Test
  void theSocketFileGetsRunscsModeByDefaultOrTheOneAsked() throws Exception {
    MetricServer world = server(ConnectionPolicy.DEFAULT);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket()))).isEqualTo("rwxrwxrwx");
    world.shutdown();

    server(ConnectionPolicy.DEFAULT.withSocketMode(0660));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket()))).isEqualTo("rw-rw----");
    assertThat(RawHttp.get(UnixDomainSocketAddress.of(socket()), "/runsc-metrics/pid").status()).isEqualTo(200);
  }

  @Test
  @Tag("epoll-only") // SO_PEERCRED comes from the epoll transport; the NIO run checks the refusal below
  void callersNotInTheAllowListAreClosedUnansweredAndCounted() throws Exception {
    assertThat(Transport.detect().isEpoll()).as("the native epoll transport loads here").isTrue();
    MetricServer server = server(ConnectionPolicy.DEFAULT.withAllowedPeers(Set.of(uid + 1), Set.of(gid + 1)));
    for (int i = 0; i < 3; i++) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket()));
        try {
          ch.write(ByteBuffer.wrap("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
          // Already closed by the server: as good as an unanswered request.
        }
        byte[] answer;
        try {
          answer = Channels.newInputStream(ch).readAllBytes();
        } catch (IOException e) {
          answer = new byte[0]; // reset: closed with our request unread
        }
        assertThat(answer).as("bytes sent to a refused caller").isEmpty();
      }
    }
    // TCP is not subject to the allow-list (a port is guarded by the address it binds).
    String text = RawHttp.get(server.tcpAddress(), "/metrics").text();
    assertThat(HostileClientsTest.refused(text, "peer_credentials")).isEqualTo(3);
    assertThat(HostileClientsTest.refused(text, "max_connections")).isZero();
  }

  @Test
  @Tag("epoll-only") // SO_PEERCRED comes from the epoll transport; the NIO run checks the refusal below
  void callersAllowedByUidOrGidAreServed() throws Exception {
    server(ConnectionPolicy.DEFAULT.withAllowedPeers(Set.of(uid), Set.of()));
    assertThat(RawHttp.get(UnixDomainSocketAddress.of(socket()), "/runsc-metrics/pid").status()).isEqualTo(200);
    fixture.closeAll();
    server(ConnectionPolicy.DEFAULT.withAllowedPeers(Set.of(uid + 1), Set.of(gid)));
    assertThat(RawHttp.get(UnixDomainSocketAddress.of(socket()), "/runsc-metrics/pid").status()).isEqualTo(200);
  }

  @Test
  void anAllowListNeedsAUnixSocketAndTheEpollTransport() {
    ConnectionPolicy allowList = ConnectionPolicy.DEFAULT.withAllowedPeers(Set.of(uid), Set.of());
    assertThatThrownBy(
            () -> MetricServer.start(fixture.options("127.0.0.1:0").withConnections(allowList)))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("Unix sockets only");
    String before = System.getProperty("sandboxmetrics.transport");
    System.setProperty("sandboxmetrics.transport", "nio");
    try {
      assertThatThrownBy(() -> server(allowList))
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("need the native epoll transport");
      assertThat(socket()).doesNotExist();
    } finally {
      if (before == null) {
        System.clearProperty("sandboxmetrics.transport");
      } else {
        System.setProperty("sandboxmetrics.transport", before);
      }
    }
  }
}
