package dev.sandboxmetrics.metricserver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Starting and stopping: addresses, the root directory check, socket and PID files, shutdown. */
@Timeout(60)
@SuppressWarnings("try") // try-with-resources keeps a server running for the block's duration
class MetricServerLifecycleTest {
  @TempDir Path tmp;

  private Path root() throws IOException {
    return Files.createDirectories(tmp.resolve("root"));
  }

  @Test
  void unixSocketIsWorldAccessibleAndRemovedOnShutdownWithThePidFile() throws Exception {
    Path socket = tmp.resolve("metrics.sock");
    Path pidFile = tmp.resolve("server.pid");
    MetricServer server =
        MetricServer.start(MetricServerOptions.of(root().toString(), socket.toString()).withPidFile(pidFile));
    try {
      assertThat(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS))
          .isEqualTo(PosixFilePermissions.fromString("rwxrwxrwx"));
      assertThat(Files.readString(pidFile)).isEqualTo(Long.toString(ProcessHandle.current().pid()));
      RawHttp.Response pid = RawHttp.get(UnixDomainSocketAddress.of(socket), "/runsc-metrics/pid");
      assertThat(pid.text()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    } finally {
      server.shutdown();
    }
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.REQUESTED);
    assertThat(socket).doesNotExist();
    assertThat(pidFile).doesNotExist();
  }

  @Test
  void staleSocketFileThatNobodyListensOnDoesNotBlockStartUp() throws Exception {
    Path socket = tmp.resolve("stale.sock");
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(socket));
    }
    assertThat(socket).exists(); // closing a listener leaves its file behind, like a crashed server
    try (MetricServer server = MetricServer.start(MetricServerOptions.of(root().toString(), socket.toString()))) {
      assertThat(RawHttp.get(UnixDomainSocketAddress.of(socket), "/").status()).isEqualTo(200);
    }
    assertThat(socket).doesNotExist();
  }

  @Test
  void liveSocketIsAddressInUseAndIsLeftAlone() throws Exception {
    Path socket = tmp.resolve("live.sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));
      Object inode = Files.getAttribute(socket, "unix:ino");
      assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(root().toString(), socket.toString())))
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("address in use")
          .hasMessageContaining(socket.toString())
          .satisfies(e -> assertThat(((StartupException) e).isUsageError()).isFalse());
      assertThat(Files.getAttribute(socket, "unix:ino")).isEqualTo(inode);
    }
  }

  // Not in the NIO run (the pom excludes the tag): Netty's NIO domain-socket channel deletes its path on
  // close, so only the epoll transport can leave another's socket alone.
  @Test
  @Tag("epoll-only")
  void socketFileReplacedByAnotherIsLeftAloneOnShutdown() throws Exception {
    Path socket = tmp.resolve("replaced.sock");
    MetricServer server = MetricServer.start(MetricServerOptions.of(root().toString(), socket.toString()));
    Files.delete(socket);
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(socket));
      server.shutdown();
      assertThat(socket).exists();
    }
  }

  @Test
  void runtimeRootPlaceholderInTheAddressIsTheRootDirectory() throws Exception {
    Path root = root();
    try (MetricServer server = MetricServer.start(MetricServerOptions.of(root.toString(), "%RUNTIME_ROOT%/metrics.sock"))) {
      assertThat(server.address()).isEqualTo(root + "/metrics.sock");
      assertThat(root.resolve("metrics.sock")).exists();
    }
  }

  @Test
  void missingRootDirectoryRefusesToStartUnlessAllowed() throws Exception {
    String missing = tmp.resolve("no-such-root").toString();
    assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(missing, "127.0.0.1:0")))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("invalid root directory")
        .hasMessageContaining(missing)
        .hasMessageContaining("--allow-unknown-root");

    try (MetricServer server =
        MetricServer.start(MetricServerOptions.of(missing, "127.0.0.1:0").withAllowUnknownRoot(true))) {
      assertThat(RawHttp.get(server.tcpAddress(), "/metrics").status()).isEqualTo(200);
    }
  }

  @Test
  void rootThatIsNotADirectoryRefusesToStart() throws Exception {
    Path notADirectory = Files.writeString(tmp.resolve("root-file"), "not a directory");
    assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(notADirectory.toString(), "127.0.0.1:0")))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("invalid root directory")
        .hasMessageContaining("cannot list it");
  }

  @Test
  void emptyOrMalformedAddressIsAUsageError() {
    assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(tmp.toString(), "")))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("--metric-server")
        .satisfies(e -> assertThat(((StartupException) e).isUsageError()).isTrue());
    assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(tmp.toString(), "localhost")))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("host:port")
        .satisfies(e -> assertThat(((StartupException) e).isUsageError()).isTrue());
  }

  @Test
  void tcpPortInUseIsARuntimeFailure() throws Exception {
    try (MetricServer first = MetricServer.start(MetricServerOptions.of(root().toString(), "127.0.0.1:0"))) {
      String taken = "127.0.0.1:" + first.tcpAddress().getPort();
      assertThatThrownBy(() -> MetricServer.start(MetricServerOptions.of(root().toString(), taken)))
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("cannot listen on TCP address")
          .satisfies(e -> assertThat(((StartupException) e).isUsageError()).isFalse());
    }
  }

  @Test
  @Timeout(30)
  void twoShutdownsAtOnceFinishWithoutWaitingForEachOther() throws Exception {
    // As a demo does on Ctrl-C (both of its handlers see SIGINT): the second shutdown waits for the first,
    // which must still be able to finish. It once held the server's lock while waiting, and the first then
    // waited for the lock until the second gave up (the export timeout plus 15 s, 75 s here).
    MetricServer server =
        MetricServer.start(
            MetricServerOptions.of(root().toString(), "127.0.0.1:0").withExportTimeout(Duration.ofSeconds(60)));
    server.shutdownAsync(MetricServer.Termination.REQUESTED);
    server.shutdownAsync(MetricServer.Termination.REQUESTED);
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.REQUESTED);
  }

  @Test
  void serverShutsDownWhenTheRootDirectoryDisappears() throws Exception {
    Path root = root();
    Path socket = tmp.resolve("m.sock");
    MetricServer server =
        MetricServer.start(
            MetricServerOptions.of(root.toString(), socket.toString()).withRescanInterval(Duration.ofMillis(100)));
    Files.delete(root);
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.ROOT_DIRECTORY_GONE);
    assertThat(socket).doesNotExist();
  }

  /**
   * Scrapes rescan the root, so while they come more often than the rescan interval no background scan is
   * made; but a scrape that cannot list the root does not count as a scan, so the background scan still
   * comes within an interval of the root's disappearance and shuts the server down.
   */
  @Test
  void serverShutsDownWhenTheRootDirectoryDisappearsWhileItIsScraped() throws Exception {
    Path root = root();
    MetricServer server =
        MetricServer.start(
            MetricServerOptions.of(root.toString(), "127.0.0.1:0").withRescanInterval(Duration.ofMillis(300)));
    Thread scraper = new Thread(() -> {
      while (!server.isShuttingDown()) {
        try {
          RawHttp.get(server.tcpAddress(), "/metrics");
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          // Refused while shutting down.
        }
      }
    }, "scraper");
    scraper.start();
    try {
      Thread.sleep(700); // scrapes, each rescanning, more often than the interval
      Files.delete(root);
      assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.ROOT_DIRECTORY_GONE);
    } finally {
      scraper.interrupt();
      scraper.join(10_000);
    }
  }

  @Test
  void theBackgroundScanWaitsAnIntervalAfterTheLastListing() {
    long second = Duration.ofSeconds(1).toNanos();
    long interval = 20 * second;

    assertThat(MetricServer.periodicScanDelay(0, interval)).isEqualTo(interval);
    assertThat(MetricServer.periodicScanDelay(15 * second, interval)).isEqualTo(5 * second);
    assertThat(MetricServer.periodicScanDelay(interval, interval)).isZero();
    assertThat(MetricServer.periodicScanDelay(interval - Duration.ofMillis(2).toNanos(), interval))
        .as("due within the timer's own lateness").isZero();
    assertThat(MetricServer.periodicScanDelay(3 * interval, interval)).isZero();
  }

  @Test
  void withAllowUnknownRootTheServerOutlivesItsRootDirectory() throws Exception {
    Path root = root();
    // A witness without --allow-unknown-root scans the same root on the same schedule: once it has shut down
    // for the missing root, periodic scans have seen the root gone, and the server under test must not have
    // followed it.
    MetricServer witness =
        MetricServer.start(
            MetricServerOptions.of(root.toString(), "127.0.0.1:0").withRescanInterval(Duration.ofMillis(50)));
    try (MetricServer server =
        MetricServer.start(
            MetricServerOptions.of(root.toString(), "127.0.0.1:0")
                .withAllowUnknownRoot(true)
                .withRescanInterval(Duration.ofMillis(50)))) {
      Files.delete(root);
      assertThat(witness.awaitTermination()).isEqualTo(MetricServer.Termination.ROOT_DIRECTORY_GONE);
      assertThat(server.isShuttingDown()).isFalse();
      assertThat(RawHttp.get(server.tcpAddress(), "/metrics").status()).isEqualTo(200);
    }
  }
}
