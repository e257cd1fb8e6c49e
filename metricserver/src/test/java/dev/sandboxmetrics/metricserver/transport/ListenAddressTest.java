package dev.sandboxmetrics.metricserver.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** --metric-server strings as runsc reads them. */
class ListenAddressTest {
  @Test
  void absolutePathIsAUnixSocket() {
    assertThat(ListenAddress.parse("/run/runsc/metrics.sock"))
        .isEqualTo(new ListenAddress.Unix("/run/runsc/metrics.sock", Path.of("/run/runsc/metrics.sock")));
  }

  @Test
  void hostAndPortAndAllInterfaces() {
    ListenAddress.Tcp local = (ListenAddress.Tcp) ListenAddress.parse("localhost:1337");
    assertThat(local.host()).isEqualTo("localhost");
    assertThat(local.port()).isEqualTo(1337);
    assertThat(local.allInterfaces()).isFalse();

    ListenAddress.Tcp all = (ListenAddress.Tcp) ListenAddress.parse(":9090");
    assertThat(all.allInterfaces()).isTrue();
    assertThat(all.text()).isEqualTo(":9090");

    ListenAddress.Tcp v6 = (ListenAddress.Tcp) ListenAddress.parse("[::1]:80");
    assertThat(v6.host()).isEqualTo("::1");
  }

  @Test
  void malformedAddressesSayWhatIsExpected() {
    assertThatThrownBy(() -> ListenAddress.parse("")).hasMessageContaining("--metric-server");
    assertThatThrownBy(() -> ListenAddress.parse("localhost")).hasMessageContaining("host:port");
    assertThatThrownBy(() -> ListenAddress.parse("localhost:http")).hasMessageContaining("port \"http\"");
    assertThatThrownBy(() -> ListenAddress.parse("localhost:70000")).hasMessageContaining("0 to 65535");
    assertThatThrownBy(() -> ListenAddress.parse("::1:80")).hasMessageContaining("brackets");
    assertThatThrownBy(() -> ListenAddress.parse("relative/path.sock")).hasMessageContaining("absolute");
  }
}
