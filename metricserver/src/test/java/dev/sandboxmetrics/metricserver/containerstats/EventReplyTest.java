package dev.sandboxmetrics.metricserver.containerstats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Decoding runsc's EventOut: Go's omitempty, a null map, and what an untrusted sandbox may not send. */
class EventReplyTest {
  private static EventReply decode(String json) throws EventReply.EventException {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    return EventReply.decode(b, b.length);
  }

  private static String reply(String data, String usage) {
    return "{\"success\":true,\"err\":\"\",\"result\":{\"event\":{\"type\":\"stats\",\"id\":\"c1\",\"data\":" + data
        + "},\"containerUsage\":" + usage + "}}";
  }

  @Test
  void decodesWhatRunscSends() throws Exception {
    EventReply r = decode(reply("{\"cpu\":{\"usage\":{}},\"memory\":{\"usage\":{\"limit\":0,\"usage\":1048576,"
        + "\"failcnt\":0},\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},"
        + "\"kernelTCP\":{\"limit\":0,\"failcnt\":0}},\"pids\":{\"current\":3},\"network_interfaces\":[{\"Name\":"
        + "\"eth0\",\"RxBytes\":10,\"RxPackets\":1,\"RxErrors\":0,\"RxDropped\":0,\"TxBytes\":20,\"TxPackets\":2,"
        + "\"TxErrors\":0,\"TxDropped\":0}]}", "{\"c1\":5,\"pause\":18446744073709551615}"));
    assertThat(r.id()).isEqualTo("c1");
    assertThat(r.memoryUsage()).isEqualTo(1048576);
    assertThat(r.pidsCurrent()).isEqualTo(3);
    assertThat(r.interfaces()).singleElement().satisfies(i -> assertThat(i.txBytes()).isEqualTo(20));
    assertThat(r.containerUsage()).containsEntry("c1", 5L).containsEntry("pause", -1L);
  }

  @Test
  void omittedZeroesAndANullMapAreZeroAndEmpty() throws Exception {
    EventReply r = decode(reply("{\"cpu\":{\"usage\":{}},\"memory\":{\"usage\":{\"limit\":0,\"failcnt\":0}},"
        + "\"pids\":{},\"network_interfaces\":null}", "null"));
    assertThat(r.memoryUsage()).isZero();
    assertThat(r.pidsCurrent()).isZero();
    assertThat(r.interfaces()).isEmpty();
    assertThat(r.containerUsage()).isEmpty();
  }

  @Test
  void refusesNumbersThatAreNotUint64AndBrokenReplies() {
    for (String bad : new String[] {"-1", "1.5", "18446744073709551616", "\"7\""}) {
      assertThatThrownBy(() -> decode(reply("{}", "{\"c1\":" + bad + "}")))
          .isInstanceOfSatisfying(EventReply.EventException.class, e -> assertThat(e.reason).isEqualTo("malformed"));
    }
    assertThatThrownBy(() -> decode(reply("{\"pids\":{\"current\":-3}}", "{}")))
        .isInstanceOf(EventReply.EventException.class);
    assertThatThrownBy(() -> decode("{\"success\":true,\"result\":{\"event\":{\"id\":}}}"))
        .isInstanceOfSatisfying(EventReply.EventException.class, e -> assertThat(e.reason).isEqualTo("malformed"));
    assertThatThrownBy(() -> decode("{\"success\":false,\"err\":\"container \\\"x\\\" not found\",\"result\":null}"))
        .isInstanceOfSatisfying(EventReply.EventException.class, e -> {
          assertThat(e.reason).isEqualTo("event_error");
          assertThat(e.getMessage()).contains("container \"x\" not found");
        });
  }
}
