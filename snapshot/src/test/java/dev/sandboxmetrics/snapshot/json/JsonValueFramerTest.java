package dev.sandboxmetrics.snapshot.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the control client knows a uRPC reply (no length prefix) has fully arrived. */
class JsonValueFramerTest {
  private static final String TRICKY =
      "{\"err\":\"a \\\"quoted\\\" } ] { [ text\\\\\",\"s\":\"\\\\\",\"u\":\"\\u007d é 🚀 \\\"\","
          + "\"result\":{\"a\":[1,{\"b\":[[],{}]},\"]\"],\"c\":null}}";

  @Test
  void findsTheEndOfAValueSplitAtEveryByte() throws Exception {
    byte[] value = TRICKY.getBytes(UTF_8);
    byte[] stream = concat("  \r\n\t".getBytes(UTF_8), value, "{\"next\":1}".getBytes(UTF_8));
    int end = 5 + value.length;
    for (int split = 0; split <= stream.length; split++) {
      JsonValueFramer framer = new JsonValueFramer();
      int first = framer.feed(stream, 0, split);
      if (split < end) {
        assertThat(first).as("split at %d", split).isEqualTo(-1);
        assertThat(framer.feed(stream, split, stream.length - split)).as("split at %d", split).isEqualTo(end);
      } else {
        assertThat(first).as("split at %d", split).isEqualTo(end);
      }
      assertThat(framer.consumed()).isEqualTo(end);
    }
  }

  @Test
  void findsTheEndWhenBytesArriveOneAtATime() throws Exception {
    byte[] value = TRICKY.getBytes(UTF_8);
    JsonValueFramer framer = new JsonValueFramer();
    for (int i = 0; i < value.length - 1; i++) {
      assertThat(framer.feed(value, i, 1)).as("byte %d", i).isEqualTo(-1);
      assertThat(framer.started()).isTrue();
    }
    assertThat(framer.feed(value, value.length - 1, 1)).isEqualTo(value.length);
  }

  @Test
  void framesARealReplyAndIsReadyForTheNextAfterReset() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeExportReply(out, new dev.sandboxmetrics.snapshot.Snapshot(Instant.now(), List.of()));
    RunscReplies.writeErrorReply(out, "nope");
    byte[] both = out.toByteArray();
    JsonValueFramer framer = new JsonValueFramer();
    int end = framer.feed(both, 0, both.length);
    assertThat(RunscJson.readExportReply(both, 0, end).success()).isTrue();
    assertThatThrownBy(() -> framer.feed(both, end, 1)).isInstanceOf(IllegalStateException.class);
    framer.reset();
    assertThat(framer.started()).isFalse();
    int second = framer.feed(both, end, both.length - end);
    assertThat(second).isEqualTo(both.length);
    assertThat(RunscJson.readExportReply(both, end, second - end).err()).isEqualTo("nope");
  }

  @Test
  void onlyAnObjectCanBeTheTopLevelValue() {
    for (String bad : new String[] {"[]", "\"x\"", "1", "null", "  x{}"}) {
      byte[] b = bad.getBytes(UTF_8);
      assertThatThrownBy(() -> new JsonValueFramer().feed(b, 0, b.length))
          .as(bad).isInstanceOf(RunscJsonException.class).hasMessageStartingWith("expected a JSON object");
    }
  }

  @Test
  void mismatchedBracketsAreRefused() {
    byte[] b = "{\"a\":[}".getBytes(UTF_8);
    assertThatThrownBy(() -> new JsonValueFramer().feed(b, 0, b.length))
        .isInstanceOf(RunscJsonException.class).hasMessage("mismatched '}' at byte 6");
  }

  @Test
  void nestingDeeperThanTheLimitIsRefusedAtTheFirstByteTooDeep() throws Exception {
    byte[] ok = ("{\"a\":" + "[".repeat(63) + "]".repeat(63) + "}").getBytes(UTF_8);
    assertThat(new JsonValueFramer().feed(ok, 0, ok.length)).isEqualTo(ok.length);
    byte[] deep = ("{\"a\":" + "[".repeat(10_000)).getBytes(UTF_8);
    assertThatThrownBy(() -> new JsonValueFramer().feed(deep, 0, deep.length))
        .isInstanceOf(RunscJsonException.class).hasMessage("JSON nested deeper than 64 levels at byte 68");
    byte[] three = "{\"a\":{\"b\":[".getBytes(UTF_8);
    assertThatThrownBy(() -> new JsonValueFramer(2).feed(three, 0, three.length))
        .isInstanceOf(RunscJsonException.class).hasMessageStartingWith("JSON nested deeper than 2 levels");
  }

  @Test
  void aTruncatedValueIsNeverComplete() throws Exception {
    // Cut anywhere before its last byte, in one read or byte by byte, the value is still waiting for more.
    byte[] value = TRICKY.getBytes(UTF_8);
    for (int cut = 0; cut < value.length; cut++) {
      assertThat(new JsonValueFramer().feed(value, 0, cut)).as("cut at %d", cut).isEqualTo(-1);
    }
    JsonValueFramer framer = new JsonValueFramer();
    for (int i = 0; i < value.length - 1; i++) {
      assertThat(framer.feed(value, i, 1)).isEqualTo(-1);
    }
    assertThat(framer.consumed()).isEqualTo(value.length - 1);
  }

  @Test
  void aHugeStringWithBracketsQuotesAndEscapesInsideIsOneValue() throws Exception {
    // 8 MiB of string (the default reply limit) full of what would end the value if it were not a string,
    // fed in the reads of a socket: only the '}' after it ends the value.
    String filler = "}]{[\\\\\\\"é".repeat((8 << 20) / 10);
    byte[] value = ("{\"err\":\"" + filler + "\",\"success\":false}").getBytes(UTF_8);
    byte[] stream = concat(value, "{}".getBytes(UTF_8));
    JsonValueFramer framer = new JsonValueFramer();
    int end = -1;
    for (int off = 0; off < stream.length && end < 0; off += 65_536) {
      end = framer.feed(stream, off, Math.min(65_536, stream.length - off));
    }
    assertThat(end).isEqualTo(value.length);
    assertThat(framer.consumed()).isEqualTo(value.length);
  }

  @Test
  void bytesAfterTheValueAreNotLookedAt() throws Exception {
    byte[] b = "{}garbage".getBytes(UTF_8);
    assertThat(new JsonValueFramer().feed(b, 0, b.length)).isEqualTo(2);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
