package dev.sandboxmetrics.simulator.urpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.simulator.urpc.Call.JsonKind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Calls decoded the way runsc's Go server decodes them, however the bytes are split. */
class CallDecoderTest {
  @Test
  void callsSplitAnywhereAndConcatenatedAreAllFound() throws Exception {
    String stream =
        "{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"fs_\\\"x\\\"\",\"other\":[1,{\"a\":2}]}}"
            + " \n{\"arg\":null,\"method\":\"Metrics.GetRegisteredMetrics\",\"extra\":{\"method\":\"no\"}}"
            + "null ";  // a bare literal at the end of the stream needs a delimiter to be complete
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    CallDecoder d = new CallDecoder();
    List<Call> calls = new ArrayList<>();
    for (int i = 0; i < bytes.length; i++) {
      d.feed(bytes, i, 1);
      Call c;
      while ((c = d.next()) != null) {
        calls.add(c);
      }
    }
    assertThat(calls)
        .containsExactly(
            new Call("Metrics.Export", JsonKind.OBJECT, JsonKind.STRING, "fs_\"x\""),
            new Call("Metrics.GetRegisteredMetrics", JsonKind.NULL, JsonKind.MISSING, ""),
            new Call("", JsonKind.MISSING, JsonKind.MISSING, ""));
  }

  @Test
  void argumentKindsAreKeptForGoStyleErrors() throws Exception {
    assertThat(decode("{\"method\":\"m\",\"arg\":[1]}").arg()).isEqualTo(JsonKind.ARRAY);
    assertThat(decode("{\"method\":\"m\",\"arg\":{\"only_metrics\":true}}").onlyMetricsKind()).isEqualTo(JsonKind.BOOL);
    assertThat(decode("{\"method\":\"m\",\"arg\":{\"only_metrics\":5,\"ONLY_METRICS\":\"x\"}}").onlyMetricsKind())
        .isEqualTo(JsonKind.NUMBER);
    assertThat(decode("{\"Method\":\"a\",\"method\":\"b\"}").method()).isEqualTo("b");
  }

  @Test
  void whatGoCannotDecodeIsAProtocolError() {
    assertThatThrownBy(() -> decode("[]")).isInstanceOf(CallDecoder.ProtocolException.class);
    assertThatThrownBy(() -> decode("{\"method\":{}}")).isInstanceOf(CallDecoder.ProtocolException.class);
    assertThatThrownBy(() -> decode("{\"method\":\"m\",}")).isInstanceOf(CallDecoder.ProtocolException.class);
  }

  private static Call decode(String json) throws CallDecoder.ProtocolException {
    CallDecoder d = new CallDecoder();
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    d.feed(b, 0, b.length);
    return d.next();
  }
}
