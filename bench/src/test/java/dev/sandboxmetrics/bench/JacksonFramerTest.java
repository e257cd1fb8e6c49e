package dev.sandboxmetrics.bench;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's two framers find the same ends, so that {@code frame} and {@code frameJackson} compare
 * the same work; and the Jackson one refuses what the product's framer refuses.
 */
class JacksonFramerTest {
  @Test
  void bothFramersFindTheSameEndsOfTheWorkloadsReplies() throws Exception {
    ScrapePathBenchmark bench = new ScrapePathBenchmark();
    bench.sandboxes = 3;
    bench.setUp();
    int ends = bench.frame();
    // Each reply ends at its last byte.
    assertThat(ends).isEqualTo(bench.workload.snapshotJson.stream().mapToInt(b -> b.length).sum());
    assertThat(bench.frameJackson()).isEqualTo(ends);
  }

  @Test
  void bothFindTheEndOfAValueSplitAtEveryByte() throws Exception {
    byte[] stream = (" \n{\"err\":\"a \\\"q\\\" } ] { [\",\"u\":\"\\u007d é 🚀\",\"r\":{\"a\":[1,-2.5e3,NaN,"
        + "{\"b\":[[],{}]},\"]\"],\"c\":null,\"d\":true}}{\"next\":1}").getBytes(UTF_8);
    int end = new JsonValueFramer().feed(stream, 0, stream.length);
    assertThat(end).isEqualTo(stream.length - "{\"next\":1}".length());
    for (int split = 0; split <= stream.length; split++) {
      JacksonFramer framer = new JacksonFramer();
      int first = framer.feed(stream, 0, split);
      int got = first >= 0 ? first : framer.feed(stream, split, stream.length - split);
      assertThat(got).as("split at %d", split).isEqualTo(end);
      assertThat(framer.consumed()).isEqualTo(end);
    }
  }

  @Test
  void refusesWhatTheProductsFramerRefuses() {
    for (String bad : new String[] {"[]", "1", "  x{}", "{\"a\":[}", "{\"a\":" + "[".repeat(64)}) {
      byte[] b = bad.getBytes(UTF_8);
      assertThatThrownBy(() -> new JsonValueFramer().feed(b, 0, b.length)).as(bad)
          .isInstanceOf(RunscJsonException.class);
      assertThatThrownBy(() -> new JacksonFramer().feed(b, 0, b.length)).as(bad)
          .isInstanceOf(RunscJsonException.class);
    }
  }
}
