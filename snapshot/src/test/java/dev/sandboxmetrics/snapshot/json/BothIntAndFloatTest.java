package dev.sandboxmetrics.snapshot.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Value;
import org.junit.jupiter.api.Test;

/**
 * A runsc number with both {@code int} and {@code float} set decodes as gVisor reads it (the integer wins:
 * {@code Number.ToFloat}, its text writer, golden case 02), and the server's policy rejects only what gVisor's
 * verifier rejects (a data point value whose float part is not an integer). Both decoders agree.
 */
class BothIntAndFloatTest {
  private static byte[] reply(String val) {
    return ("{\"success\":true,\"result\":{\"snapshot\":{\"when\":\"2024-01-02T03:04:05Z\",\"data\":[{\"metric\":"
        + "{\"name\":\"f_both\",\"type\":1,\"help\":\"h\"},\"val\":" + val + "}]}}}").getBytes(UTF_8);
  }

  private static Value decoded(byte[] json, RunscJson.BothSetPolicy policy) throws RunscJsonException {
    ExportReply fast = RunscJson.readCompleteExportReplyOrNull(json, 0, json.length, policy);
    ExportReply reader = RunscJson.readExportReplyWithReader(json, 0, json.length, policy);
    if (fast != null) {
      assertThat(fast).isEqualTo(reader);
    }
    return reader.snapshot().data().get(0).value();
  }

  @Test
  void theIntegerWinsAsInGvisor() throws Exception {
    assertThat(decoded(reply("{\"float\":2.5,\"int\":5}"), RunscJson.BothSetPolicy.INT_WINS)).isEqualTo(Value.ofInt(5));
    byte[] reversed = reply("{\"int\":5,\"float\":2.5}");
    assertThat(RunscJson.readExportReply(reversed, 0, reversed.length)
        .snapshot().data().get(0).value()).isEqualTo(Value.ofInt(5));
  }

  @Test
  void theServerAcceptsAnIntegralFloatPartAsGvisorsVerifierDoes() throws Exception {
    assertThat(decoded(reply("{\"float\":2,\"int\":5}"), RunscJson.BothSetPolicy.GVISOR_VERIFIER))
        .isEqualTo(Value.ofInt(5));
  }

  @Test
  void theServerRejectsAFractionalFloatPartAsGvisorsVerifierDoes() {
    for (String val : new String[] {"{\"float\":2.5,\"int\":5}", "{\"int\":5,\"float\":\"NaN\"}", "{\"int\":5,\"float\":1e300}"}) {
      byte[] json = reply(val);
      assertThat(RunscJson.readCompleteExportReplyOrNull(json, 0, json.length, RunscJson.BothSetPolicy.GVISOR_VERIFIER))
          .as(val).isNull();
      assertThatThrownBy(() -> RunscJson.readExportReply(json, 0, json.length, RunscJson.BothSetPolicy.GVISOR_VERIFIER))
          .as(val).isInstanceOf(RunscJsonException.class).hasMessageContaining("gVisor's verifier rejects");
    }
  }

  @Test
  void inAHistogramTheIntegerWinsEvenForTheServer() throws Exception {
    byte[] json = ("{\"success\":true,\"result\":{\"snapshot\":{\"when\":\"2024-01-02T03:04:05Z\",\"data\":[{\"metric\":"
        + "{\"name\":\"h\",\"type\":3,\"help\":\"h\"},\"histogram\":{\"total\":{\"int\":7,\"float\":0.5},"
        + "\"buckets\":[{\"le\":{\"float\":\"+Inf\"},\"n\":1}]}}]}}}").getBytes(UTF_8);
    ExportReply r = RunscJson.readExportReply(json, 0, json.length, RunscJson.BothSetPolicy.GVISOR_VERIFIER);
    assertThat(r.snapshot().data().get(0).histogram().total()).isEqualTo(Value.ofInt(7));
  }
}
