package dev.sandboxmetrics.metricserver.collect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.metricserver.transport.Transport;
import dev.sandboxmetrics.runsc.control.BlockingControlClient;
import dev.sandboxmetrics.runsc.control.ControlException;
import dev.sandboxmetrics.runsc.control.ControlProtocol;
import dev.sandboxmetrics.snapshot.MetricNameFilter;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.RunscReplies;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sandbox whose listen backlog is full (it does not accept fast enough) makes connect(2) fail with EAGAIN
 * on a Unix socket; both clients, blocking and event-driven, wait and try again within their deadline, and
 * get the reply once the sandbox accepts.
 */
@Timeout(60)
class BacklogRetryTest {
  @TempDir Path dir;

  private static final Snapshot SNAPSHOT = new Snapshot(Instant.parse("2024-01-02T03:04:05Z"), List.of());

  /** A peer whose backlog is full until {@link #startAccepting}; then it answers every call. */
  private static final class FullBacklogPeer implements AutoCloseable {
    final Path socket;
    final ServerSocketChannel server;
    final List<SocketChannel> fillers = new ArrayList<>();

    FullBacklogPeer(Path socket) throws IOException {
      this.socket = socket;
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(socket), 1);
      while (true) {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.configureBlocking(false);
        try {
          c.connect(UnixDomainSocketAddress.of(socket));
          fillers.add(c);
        } catch (IOException e) {
          c.close();
          assertThat(e.getMessage()).contains("Resource temporarily unavailable");
          return;
        }
      }
    }

    void startAccepting(long afterMillis) {
      Thread t = new Thread(() -> {
        try {
          TimeUnit.MILLISECONDS.sleep(afterMillis);
          for (SocketChannel f : fillers) {
            f.close();
          }
          while (true) {
            SocketChannel c = server.accept();
            Thread h = new Thread(() -> answer(c));
            h.setDaemon(true);
            h.start();
          }
        } catch (IOException | InterruptedException e) {
          // closed at the end of the test
        }
      });
      t.setDaemon(true);
      t.start();
    }

    private static void answer(SocketChannel c) {
      try (c) {
        ByteBuffer in = ByteBuffer.allocate(4096);
        if (c.read(in) <= 0) {
          return; // a filler that went away
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RunscReplies.writeExportReply(out, SNAPSHOT);
        c.write(ByteBuffer.wrap(out.toByteArray()));
      } catch (IOException e) {
        // the client went away
      }
    }

    @Override
    public void close() throws IOException {
      for (SocketChannel f : fillers) {
        f.close();
      }
      server.close();
    }
  }

  @Test
  void theBlockingClientRetriesAFullBacklog() throws Exception {
    try (FullBacklogPeer peer = new FullBacklogPeer(dir.resolve("b.sock"))) {
      peer.startAccepting(300);
      Snapshot s = BlockingControlClient.export(peer.socket, MetricNameFilter.ALL, Duration.ofSeconds(10), 1 << 20);
      assertThat(s).isEqualTo(SNAPSHOT);
    }
  }

  @Test
  void theEventDrivenClientRetriesAFullBacklogTheSameWay() throws Exception {
    Transport transport = Transport.detect();
    EventLoopGroup group = transport.newEventLoopGroup(1, "backlog-test");
    try (FullBacklogPeer peer = new FullBacklogPeer(dir.resolve("e.sock"))) {
      EventDrivenControlClient client = new EventDrivenControlClient(transport, group, 1 << 20);
      peer.startAccepting(300);
      EventDrivenControlClient.Reply r =
          client.call(peer.socket, ControlProtocol.exportCall(MetricNameFilter.ALL), Duration.ofSeconds(10)).get();
      // Decoded on the way (its bytes then went back to the event loop's pool), or framed: decode the bytes.
      Snapshot s = r.decoded() != null
          ? ControlProtocol.checkExportReply(r.decoded(), null)
          : ControlProtocol.decodeExportReply(r.bytes(), 0, r.length(), MetricNameFilter.ALL, null);
      assertThat(s).isEqualTo(SNAPSHOT);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
  }

  @Test
  void aBacklogThatStaysFullIsATimeoutThatSaysSo() throws Exception {
    Transport transport = Transport.detect();
    EventLoopGroup group = transport.newEventLoopGroup(1, "backlog-test");
    try (FullBacklogPeer peer = new FullBacklogPeer(dir.resolve("t.sock"))) {
      EventDrivenControlClient client = new EventDrivenControlClient(transport, group, 1 << 20);
      Throwable t = client.call(peer.socket, ControlProtocol.exportCall(MetricNameFilter.ALL), Duration.ofMillis(400))
          .handle((r, e) -> e).get();
      assertThat(t).isInstanceOf(ControlException.class);
      assertThat(((ControlException) t).kind()).isEqualTo(ControlException.Kind.TIMED_OUT);
      assertThat(t.getMessage()).contains("listen backlog full");
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
  }
}
