package dev.sandboxmetrics.snapshot.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.core.JsonParser;
import dev.sandboxmetrics.snapshot.TestData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What a broken or hostile sandbox can send: every malformed input must end in a {@link RunscJsonException}
 * whose message says where (path and line/column), and never in any other exception.
 */
class RunscJsonMalformedTest {
  private static final String LOCATION = ".*\\(line \\d+, column \\d+\\)$";
  private static final String WHEN = "\"when\":\"2024-01-02T03:04:05.678Z\"";

  @Test
  void aSnapshotTruncatedAtAnyByteIsRejectedWithALocation() throws Exception {
    // Re-encode the golden histogram snapshot to get a compact, complete snapshot document.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeSnapshot(out, GoldenInputs.snapshots(
        TestData.path("gvisor-golden/03_histogram.in.json"), RunscJson.BothSetPolicy.REJECT).get(0));
    byte[] json = out.toByteArray();
    for (int len = 0; len < json.length; len++) {
      Throwable t = catchThrowable(decoding(json, len));
      assertThat(t).as("prefix of %d bytes", len).isInstanceOf(RunscJsonException.class);
      assertThat(t.getMessage()).as("prefix of %d bytes", len).matches(LOCATION);
    }
    assertThatCode(decoding(json, json.length)).doesNotThrowAnyException();
  }

  @Test
  void aReplyTruncatedAtAnyByteIsRejected() throws Exception {
    byte[] snapshot = TestData.bytes("bench/snapshot-175.json");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeExportReply(out, RunscJson.readSnapshot(snapshot, 0, snapshot.length));
    byte[] reply = out.toByteArray();
    // Every 7th cut keeps the test quick while still landing inside every kind of token.
    for (int len = 0; len < reply.length; len += 7) {
      int cut = len;
      Throwable t = catchThrowable(() -> RunscJson.readExportReply(reply, 0, cut));
      assertThat(t).as("prefix of %d bytes", cut).isInstanceOf(RunscJsonException.class);
    }
  }

  @Test
  void wrongTypesNameThePathOfTheOffendingValue() {
    rejects("{\"data\":[{\"metric\":{\"name\":\"h\",\"type\":3},\"histogram\":{\"buckets\":[{},{},{},"
            + "{\"le\":\"10\"}]}}]}",
        "data[0].histogram.buckets[3].le: expected an object, got the string \"10\"");
    rejects("{\"data\":{}}", "data: expected an array, got an object");
    rejects("{\"when\":5}", "when: expected an RFC 3339 time string, got an integer");
    rejects("{\"data\":[{\"metric\":{\"name\":5}}]}", "data[0].metric.name: expected a string, got an integer");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\",\"help\":null}}]}",
        "data[0].metric.help: expected a string, got null");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"labels\":{\"a\":1}}]}",
        "data[0].labels.a: expected a string, got an integer");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"labels\":[]}]}",
        "data[0].labels: expected an object, got an array");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"val\":5}]}",
        "data[0].val: expected an object, got an integer");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"val\":{\"float\":true}}]}",
        "data[0].val.float: expected a number, got a boolean");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"val\":{\"float\":\"1.5\"}}]}",
        "data[0].val.float: expected a number, got the string \"1.5\"");
    rejects("[]", "top-level value: expected an object, got an array");
    rejects("\"x\"", "top-level value: expected an object, got the string \"x\"");
  }

  @Test
  void nullWhereAnObjectIsRequiredIsRejected() {
    rejects("{\"data\":[null]}", "data[0]: expected an object, got null");
    rejects("{\"data\":[{\"metric\":null}]}", "data[0].metric: expected an object, got null");
    rejects("{\"data\":[{\"metric\":{\"name\":\"h\"},\"histogram\":{\"min\":null}}]}",
        "data[0].histogram.min: expected an object, got null");
    rejects("{\"data\":[{\"metric\":{\"name\":\"h\"},\"histogram\":{\"buckets\":[null]}}]}",
        "data[0].histogram.buckets[0]: expected an object, got null");
    rejects("null", "top-level value: expected an object, got null");
  }

  @Test
  void missingMetricOrNameIsRejected() {
    rejects("{\"data\":[{\"val\":{}}]}", "data[0]: missing metric");
    rejects("{\"data\":[{\"metric\":{\"type\":1},\"val\":{}}]}", "data[0].metric: missing name");
  }

  @Test
  void numbersOutsideTheirRangeAreRejected() {
    rejects(val("{\"int\":9223372036854775808}"), "data[0].val.int: integer \"9223372036854775808\" does not fit in 64 bits");
    rejects(val("{\"int\":-9223372036854775809}"), "data[0].val.int: integer \"-9223372036854775809\" does not fit");
    rejects(val("{\"int\":1" + "0".repeat(400) + "}"), "data[0].val.int: integer");
    rejects(val("{\"float\":1e400}"), "data[0].val.float: number \"1e400\" is out of range for a 64-bit float");
    rejects(val("{\"float\":-1e400}"), "data[0].val.float: number \"-1e400\" is out of range");
    // Jackson reads a short value together with its member name, so the path ends at the enclosing object.
    rejects(val("{\"float\":1" + "0".repeat(600) + "}"), "data[0].val: malformed JSON: Number value length");
    rejects(val("{\"int\":1.5}"), "data[0].val.int: expected an integer, got \"1.5\"");
    rejects(val("{\"int\":1e3}"), "data[0].val.int: expected an integer, got \"1e3\"");
    rejects(val("{\"int\":NaN}"), "data[0].val.int: expected an integer, got \"NaN\"");
    rejects(val("{\"int\":\"5\"}"), "data[0].val.int: expected an integer, got the string \"5\"");
  }

  @Test
  void bucketCountsMustBeNonNegative64BitIntegers() {
    rejects(bucket("{\"le\":{},\"n\":-1}"), "data[0].histogram.buckets[0].n: a sample count cannot be negative");
    rejects(bucket("{\"le\":{},\"n\":18446744073709551615}"),
        "data[0].histogram.buckets[0].n: integer \"18446744073709551615\" does not fit in 64 bits");
    rejects(bucket("{\"le\":{},\"n\":2.0}"), "data[0].histogram.buckets[0].n: expected an integer");
    rejects(bucket("{\"le\":{},\"n\":Infinity}"), "data[0].histogram.buckets[0].n: expected an integer, got \"Infinity\"");
  }

  @Test
  void aNumberWithBothIntAndFloatIsNotMalformedTheIntegerWinsAsInGvisor() throws Exception {
    // gVisor renders it (golden case 02); only the server's policy rejects what gVisor's verifier does
    // (BothIntAndFloatTest), and the strict policy is for tests of the decoders.
    for (String number : new String[] {"{\"float\":2.5,\"int\":5}", "{\"int\":5,\"float\":NaN}"}) {
      byte[] b = val(number).getBytes(UTF_8);
      assertThat(RunscJson.readSnapshot(b, 0, b.length).data().get(0).value())
          .isEqualTo(dev.sandboxmetrics.snapshot.Value.ofInt(5));
      Throwable t = catchThrowable(() -> RunscJson.readSnapshot(b, 0, b.length, RunscJson.BothSetPolicy.REJECT));
      assertThat(t).isInstanceOf(RunscJsonException.class).hasMessageStartingWith("data[0].val: both int and float are set");
    }
  }

  @Test
  void metricTypesOutsideRunscsAreRejected() {
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":4}}]}", "data[0].metric.type: unknown metric type 4");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":-1}}]}", "data[0].metric.type: unknown metric type -1");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":1.0}}]}", "data[0].metric.type: expected an integer");
  }

  @Test
  void aDuplicateLabelKeyIsRejected() {
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"labels\":{\"op\":\"a\",\"op\":\"b\"}}]}",
        "data[0].labels: duplicate label \"op\"");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"labels\":{\"z\":\"a\",\"op\":\"b\",\"z\":\"c\"}}]}",
        "data[0].labels: duplicate label \"z\"");
  }

  @Test
  void anythingAfterTheValueIsRejected() {
    rejects("{" + WHEN + "}x", "top-level value: malformed JSON");
    rejects("{" + WHEN + "} {}", "top-level value: unexpected an object after the JSON value");
    rejects("{" + WHEN + "}]", "top-level value: malformed JSON");
  }

  @Test
  void emptyAndNonJsonInputIsRejected() {
    rejects("", "top-level value: expected an object, got the end of the input");
    rejects("   ", "top-level value: expected an object, got the end of the input");
    rejects("{'when':1}", "top-level value: malformed JSON");
    rejects("{\"when\":\"2024-01-02T03:04:05Z\",}", "top-level value: malformed JSON");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"}},]}", "data[1]: malformed JSON");
  }

  @Test
  void badTimesAreRejected() {
    rejects("{\"when\":\"2024-01-02 03:04:05Z\"}", "when: invalid time \"2024-01-02 03:04:05Z\": expected 'T'");
    rejects("{\"when\":\"2024-02-30T03:04:05Z\"}", "when: invalid time \"2024-02-30T03:04:05Z\": day 30 out of range");
    rejects("{\"when\":\"2024-01-02T03:04:05\"}", "when: invalid time");
    rejects("{\"when\":\"2024-01-02T03:04:05.Z\"}", "when: invalid time");
    rejects("{\"when\":\"\"}", "when: invalid time \"\": too short");
  }

  @Test
  void deepNestingIsRefusedWithoutExhaustingTheStack() {
    String deep = "[".repeat(10_000) + "]".repeat(10_000);
    rejects("{\"x\":" + deep + "}", "x: JSON nested deeper than 64 levels");
    rejects("{\"data\":[{\"metric\":{\"name\":\"g\"},\"future\":" + deep + "}]}",
        "data[0].future: JSON nested deeper than 64 levels");
    rejects("{\"data\":" + deep + "}", "data[0]: expected an object, got an array");
    rejects(deep, "top-level value: expected an object, got an array");
    String deepObjects = "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000);
    rejects(deepObjects, "a: JSON nested deeper than 64 levels");
    rejects("{\"x\":" + "[".repeat(10_000), "x: JSON nested deeper than 64 levels");
  }

  @Test
  void invalidUtf8AndControlCharactersAreRejected() {
    String json = "{\"data\":[{\"metric\":{\"name\":\"gX\"}}]}";
    byte[] bad = json.getBytes(UTF_8);
    bad[json.indexOf('X')] = (byte) 0xff;
    Throwable t = catchThrowable(() -> RunscJson.readSnapshot(bad, 0, bad.length));
    assertThat(t).isInstanceOf(RunscJsonException.class);
    assertThat(t.getMessage()).matches(LOCATION);
    rejects("{\"data\":[{\"metric\":{\"name\":\"a\u0001b\"}}]}", "data[0].metric.name: malformed JSON");
  }

  @Test
  void overlongStringsAreRejected() {
    rejects("{\"data\":[{\"metric\":{\"name\":\"" + "n".repeat((1 << 20) + 1) + "\"}}]}",
        "data[0].metric.name: malformed JSON: String value length");
  }

  @Test
  void malformedRegistrationsAreRejected() {
    rejectsRegistration("{\"metrics\":[{\"type\":4294967296}]}",
        "metrics[0].type: integer 4294967296 does not fit in 32 bits");
    rejectsRegistration("{\"metrics\":[{\"distribution_bucket_lower_bounds\":[0,1.5]}]}",
        "metrics[0].distribution_bucket_lower_bounds[1]: expected an integer");
    rejectsRegistration("{\"metrics\":[{\"fields\":[{\"field_name\":\"op\",\"allowed_values\":[null]}]}]}",
        "metrics[0].fields[0].allowed_values[0]: expected a string, got null");
    rejectsRegistration("{\"metrics\":[{\"cumulative\":\"yes\"}]}",
        "metrics[0].cumulative: expected true or false, got the string \"yes\"");
    rejectsRegistration("{\"stages\":{}}", "stages: expected an array, got an object");
  }

  @Test
  void malformedRepliesAreRejected() {
    rejectsReply("{\"success\":true,\"err\":\"\",\"result\":null}",
        "top-level value: successful reply without result.snapshot");
    rejectsReply("{\"success\":true,\"result\":{\"snapshot\":null}}",
        "top-level value: successful reply without result.snapshot");
    rejectsReply("{\"success\":\"true\"}", "success: expected true or false");
    rejectsReply("{\"success\":true,\"result\":{\"snapshot\":{\"data\":[{}]}}}",
        "result.snapshot.data[0]: missing metric");
    rejectsReply("{\"success\":true,\"result\":[]}", "result: expected an object, got an array");
  }

  @Test
  void randomCorruptionsOfARealSnapshotNeverEscapeAsOtherExceptions() {
    byte[] original = TestData.bytes("bench/snapshot-175.json");
    byte[] alphabet = "{}[]\":,0123456789-+.eEInfNaul \\tx\u00ff".getBytes(UTF_8);
    Random random = new Random(42);
    for (int round = 0; round < 1500; round++) {
      byte[] json = Arrays.copyOf(original, original.length);
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        json[random.nextInt(json.length)] = alphabet[random.nextInt(alphabet.length)];
      }
      Throwable t = catchThrowable(() -> RunscJson.readSnapshot(json, 0, json.length));
      if (t != null) {
        assertThat(t).as("round %d", round).isInstanceOf(RunscJsonException.class);
        assertThat(t.getMessage()).as("round %d", round).matches(LOCATION);
      }
    }
  }

  // ---- helpers ----

  private static org.assertj.core.api.ThrowableAssert.ThrowingCallable decoding(byte[] json, int len) {
    return () -> RunscJson.readSnapshot(json, 0, len);
  }

  private static String val(String number) {
    return "{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":1},\"val\":" + number + "}]}";
  }

  private static String bucket(String bucket) {
    return "{\"data\":[{\"metric\":{\"name\":\"h\",\"type\":3},\"histogram\":{\"buckets\":[" + bucket + "]}}]}";
  }

  private static void rejects(String json, String messageStart) {
    byte[] b = json.getBytes(UTF_8);
    Throwable t = catchThrowable(() -> RunscJson.readSnapshot(b, 0, b.length));
    assertThat(t).as(shorten(json)).isInstanceOf(RunscJsonException.class);
    assertThat(t.getMessage()).as(shorten(json)).startsWith(messageStart).matches(LOCATION);
  }

  private static void rejectsRegistration(String json, String messageStart) {
    byte[] b = json.getBytes(UTF_8);
    Throwable t = catchThrowable(() -> RunscJson.readRegistration(b, 0, b.length));
    assertThat(t).as(json).isInstanceOf(RunscJsonException.class);
    assertThat(t.getMessage()).as(json).startsWith(messageStart).matches(LOCATION);
  }

  private static void rejectsReply(String json, String messageStart) {
    byte[] b = json.getBytes(UTF_8);
    Throwable t = catchThrowable(() -> RunscJson.readExportReply(b, 0, b.length));
    assertThat(t).as(json).isInstanceOf(RunscJsonException.class);
    assertThat(t.getMessage()).as(json).startsWith(messageStart).matches(LOCATION);
  }

  private static String shorten(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
