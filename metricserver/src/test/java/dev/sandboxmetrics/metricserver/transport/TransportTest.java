package dev.sandboxmetrics.metricserver.transport;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Which Netty transport the tests run on. The build runs this module's tests twice (see the pom): with
 * native epoll, which must load on the Linux x86_64 machines we build on, and with
 * {@code -Dsandboxmetrics.transport=nio}, which must then really be NIO, or the second run would test
 * nothing new.
 */
class TransportTest {
  @Test
  void theTransportIsTheOneTheBuildAskedFor() {
    String asked = System.getProperty("sandboxmetrics.transport", "epoll");

    Transport transport = Transport.detect();

    assertThat(transport.name()).isEqualTo(asked);
    assertThat(transport.isEpoll()).isEqualTo(asked.equals("epoll"));
  }
}
