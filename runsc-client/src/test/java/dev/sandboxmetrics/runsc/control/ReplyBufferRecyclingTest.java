package dev.sandboxmetrics.runsc.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ReplyBuffer#recycling}: a decoded reply's first piece goes back to the thread's pool and the next
 * reply fills it; stale bytes of a longer earlier reply never reach the next one's result; a huge reply's
 * array is not kept; the pool stays bounded; and a buffer without recycling keeps its bytes.
 */
class ReplyBufferRecyclingTest {
  private static final int MAX = 8 << 20;

  @BeforeEach
  @AfterEach
  void emptyPool() {
    ReplyBuffer.clearPool();
  }

  /** An export reply with {@code points} counters named {@code prefix_i} of value {@code 1000 + i}. */
  private static byte[] reply(String prefix, int points) {
    StringBuilder s = new StringBuilder("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{")
        .append("\"when\":\"2024-01-02T03:04:05.678Z\",\"data\":[");
    for (int i = 0; i < points; i++) {
      if (i > 0) {
        s.append(',');
      }
      s.append("{\"metric\":{\"name\":\"").append(prefix).append('_').append(i)
          .append("\",\"type\":2,\"help\":\"h\"},\"val\":{\"int\":").append(1000 + i).append("}}");
    }
    return s.append("]}}}").toString().getBytes(StandardCharsets.UTF_8);
  }

  private static ReplyBuffer receive(ReplyBuffer buffer, byte[] json) throws ControlException {
    assertThat(buffer.reserve(json.length)).isTrue();
    assertThat(buffer.append(source(json, 0), json.length)).isTrue();
    return buffer;
  }

  /** The bytes of {@code json} from {@code from} on, in order, as a transport hands them over. */
  private static ReplyBuffer.Source source(byte[] json, int from) {
    int[] at = {from};
    return (dst, off, n) -> {
      System.arraycopy(json, at[0], dst, off, n);
      at[0] += n;
    };
  }

  private static ReplyBuffer recycling(int expected, ReplyBudget budget) {
    return ReplyBuffer.recycling(MAX, expected, budget, null, RunscJson.BothSetPolicy.INT_WINS);
  }

  private static Snapshot snapshot(ReplyBuffer b) {
    ExportReply r = b.decoded();
    assertThat(r).isNotNull();
    assertThat(r.success()).isTrue();
    return r.snapshot();
  }

  @Test
  void aDecodedReplysArrayServesTheNextReplyWhoseResultIgnoresTheStaleTail() throws Exception {
    ReplyBudget budget = new ReplyBudget(MAX * 4L);
    byte[] longer = reply("long_metric_name", 40);
    byte[] shorter = reply("s", 3);
    // Expecting the longer size both times: the second reply takes the first one's array.
    ReplyBuffer first = receive(recycling(longer.length, budget), longer);
    assertThat(snapshot(first).data()).hasSize(40);
    int pooled = Arrays.stream(ReplyBuffer.pooledLengths()).max().orElseThrow();
    assertThat(pooled).isGreaterThanOrEqualTo(longer.length);
    assertThatThrownBy(first::bytes).isInstanceOf(IllegalStateException.class).hasMessageContaining("decoded()");
    first.release();

    ReplyBuffer second = receive(recycling(longer.length, budget), shorter);
    // The one array served both replies: had the second reply had one of its own, both would be pooled now.
    assertThat(ReplyBuffer.pooledLengths()).containsExactlyInAnyOrder(pooled, 0, 0, 0);
    Snapshot s = snapshot(second);
    assertThat(s.data()).hasSize(3);
    assertThat(s.point(2).metric().name()).isEqualTo("s_2");
    assertThat(s.point(2).value().longValue()).isEqualTo(1002);
    assertThat(second.length()).isEqualTo(shorter.length);
    second.release();
    assertThat(budget.used()).isZero();
  }

  @Test
  void aHugeReplysArrayIsNotKeptAndTheNextReplyGetsAnArrayOfItsOwnSize() throws Exception {
    ReplyBudget budget = new ReplyBudget(MAX * 4L);
    byte[] huge = reply("huge_metric_name_with_some_length", 6000); // about 500 KB
    assertThat(huge.length).isGreaterThan(ReplyBuffer.RETAIN_MAX_BYTES);
    ReplyBuffer big = receive(recycling(huge.length, budget), huge);
    assertThat(snapshot(big).data()).hasSize(6000);
    big.release();
    assertThat(Arrays.stream(ReplyBuffer.pooledLengths()).boxed()).allMatch(n -> n <= ReplyBuffer.RETAIN_MAX_BYTES);

    byte[] small = reply("m", 10);
    ReplyBuffer next = receive(recycling(small.length, budget), small);
    next.release();
    assertThat(Arrays.stream(ReplyBuffer.pooledLengths()).boxed()).allMatch(n -> n < 4 * small.length);
  }

  @Test
  void thePoolKeepsAFewArraysAndPrefersTheSmallerOnes() throws Exception {
    ReplyBudget budget = new ReplyBudget(MAX * 4L);
    // More replies in progress at once than the pool has slots, of falling sizes.
    ReplyBuffer[] buffers = new ReplyBuffer[ReplyBuffer.POOL_SLOTS + 3];
    for (int i = 0; i < buffers.length; i++) {
      buffers[i] = recycling(100_000 - i * 10_000, budget);
      assertThat(buffers[i].reserve(1)).isTrue();
      buffers[i].append((dst, off, n) -> dst[off] = ' ', 1); // a first byte: its array is taken
    }
    for (ReplyBuffer b : buffers) {
      byte[] json = reply("x", 1);
      assertThat(b.reserve(json.length)).isTrue();
      assertThat(b.append(source(json, 0), json.length)).isTrue();
      assertThat(snapshot(b).data()).hasSize(1);
      b.release();
    }
    int[] lengths = ReplyBuffer.pooledLengths();
    assertThat(lengths).hasSize(ReplyBuffer.POOL_SLOTS).doesNotContain(0);
    // The smallest of the arrays stayed: each first piece is its expected size plus 1/16 and 64 bytes.
    int smallestExpected = 100_000 - (buffers.length - 1) * 10_000;
    assertThat(Arrays.stream(lengths).min().orElseThrow())
        .isEqualTo(smallestExpected + (smallestExpected >> 4) + 64);
    assertThat(Arrays.stream(lengths).max().orElseThrow()).isLessThan(100_000);
  }

  @Test
  void aReplyThatOutgrowsItsPooledFirstPieceIsJoinedWithoutTheStaleBytes() throws Exception {
    ReplyBudget budget = new ReplyBudget(MAX * 4L);
    byte[] big = reply("big", 1000);
    receive(recycling(big.length, budget), big).release(); // leaves a large array in the pool
    assertThat(ReplyBuffer.pooledLengths()).contains(big.length + (big.length >> 4) + 64);
    byte[] json = reply("grown", 300);
    // Expecting a small reply: the first piece is short of it, though the pooled array behind it is longer.
    ReplyBuffer b = recycling(100, budget);
    int at = 0;
    while (at < json.length) {
      int n = Math.min(1000, json.length - at);
      int from = at;
      assertThat(b.reserve(n)).isTrue();
      boolean done = b.append(source(json, from), n);
      at += n;
      assertThat(done).isEqualTo(at == json.length);
    }
    // The pooled array served as the first piece (only 170 bytes of it in use), so it is out of the pool.
    assertThat(ReplyBuffer.pooledLengths()).containsOnly(0);
    // Framed across pieces rather than decoded on the way: the bytes are there, exactly the reply's.
    assertThat(b.decoded()).isNull();
    assertThat(Arrays.copyOf(b.bytes(), b.length())).isEqualTo(json);
    b.release();
    assertThat(budget.used()).isZero();
  }

  @Test
  void aBufferWithoutRecyclingKeepsItsBytesAfterDecoding() throws Exception {
    byte[] json = reply("kept", 5);
    ReplyBuffer b = receive(new ReplyBuffer(MAX, json.length, ReplyBudget.UNLIMITED, null), json);
    assertThat(b.decoded()).isNotNull();
    assertThat(Arrays.copyOf(b.bytes(), b.length())).isEqualTo(json);
    assertThat(ReplyBuffer.pooledLengths()).containsOnly(0);
    b.release();
  }
}
