package dev.sandboxmetrics.snapshot.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.TestData;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast path against the Jackson-based reader, which stays the definition of what is accepted: on
 * thousands of random valid, unusual and corrupted inputs, whenever {@link FastSnapshotReader} gives an
 * answer, the reader accepts the same bytes with an equal model. Where the fast path answers null the reader
 * decides anyway, so the only other thing to check is that the fast path does answer for everything a real
 * runsc sends.
 */
class FastSnapshotReaderDifferentialTest {
  private static final byte[] CORRUPTION_ALPHABET =
      "{}[]\":,0123456789-+.eEInfNaul \\/tubx\u00ff\u00e9".getBytes(UTF_8);

  @Test
  void theBenchmarkSnapshotAndEveryGoldenSnapshotTakeTheFastPath() throws Exception {
    List<byte[]> inputs = new ArrayList<>(goldenSnapshots());
    inputs.add(TestData.bytes("bench/snapshot-175.json"));
    for (byte[] json : inputs) {
      Snapshot fast = FastSnapshotReader.snapshot(json, 0, json.length, RunscJson.BothSetPolicy.INT_WINS);
      assertThat(fast).as(new String(json, UTF_8)).isNotNull();
      assertThat(fast).isEqualTo(RunscJson.readSnapshotWithReader(json, 0, json.length, RunscJson.BothSetPolicy.INT_WINS));
    }
  }

  @Test
  void plainRandomSnapshotsTakeTheFastPathAndDecodeAsTheReaderDoes() throws Exception {
    Random random = new Random(1);
    for (int round = 0; round < 2000; round++) {
      byte[] json = new RandomRunscJson(random, false).snapshot().getBytes(UTF_8);
      RunscJson.BothSetPolicy policy = RunscJson.BothSetPolicy.values()[round % RunscJson.BothSetPolicy.values().length];
      Snapshot expected = readerOrNull(json, policy);
      Snapshot fast = FastSnapshotReader.snapshot(json, 0, json.length, policy);
      if (expected != null) {
        assertThat(fast).as("round %d: %s", round, new String(json, UTF_8)).isEqualTo(expected);
      } else {
        assertThat(fast).as("round %d: %s", round, new String(json, UTF_8)).isNull();
      }
    }
  }

  @Test
  void unusualRandomSnapshotsGetTheReadersAnswerOrNone() throws Exception {
    Random random = new Random(2);
    int valid = 0;
    int answered = 0;
    for (int round = 0; round < 2000; round++) {
      byte[] json = new RandomRunscJson(random, true).snapshot().getBytes(UTF_8);
      RunscJson.BothSetPolicy policy = RunscJson.BothSetPolicy.values()[round % RunscJson.BothSetPolicy.values().length];
      if (readerOrNull(json, policy) != null) {
        valid++;
      }
      if (agree(json, policy, round)) {
        answered++;
      }
    }
    // Most unusual documents are invalid. Of the valid ones, the fast path leaves only a few to the reader
    // (a byte-order mark, nesting deeper than it follows), so it also covers escaped names, unsorted labels
    // and the like.
    assertThat(valid).isGreaterThan(200);
    assertThat(answered).isGreaterThanOrEqualTo(valid * 95 / 100);
  }

  @Test
  void corruptedSnapshotsAreNeverAcceptedByTheFastPathAloneNorDecodedDifferently() throws Exception {
    Random random = new Random(3);
    int rejected = 0;
    for (int round = 0; round < 4000; round++) {
      byte[] json = corrupt(random, new RandomRunscJson(random, round % 3 == 0).snapshot().getBytes(UTF_8));
      agree(json, RunscJson.BothSetPolicy.REJECT, round);
      if (readerOrNull(json, RunscJson.BothSetPolicy.REJECT) == null) {
        rejected++;
      }
    }
    assertThat(rejected).as("corruptions the reader rejects").isGreaterThan(2000);
  }

  @Test
  void corruptionsOfTheBenchmarkSnapshotAgree() throws Exception {
    byte[] original = TestData.bytes("bench/snapshot-175.json");
    Random random = new Random(4);
    for (int round = 0; round < 600; round++) {
      agree(corrupt(random, original), RunscJson.BothSetPolicy.REJECT, round);
    }
  }

  @Test
  void everyTruncationOfASnapshotIsLeftToTheReader() throws Exception {
    Random random = new Random(5);
    List<byte[]> inputs = new ArrayList<>();
    inputs.add(TestData.bytes("bench/snapshot-175.json"));
    while (inputs.size() < 20) {
      byte[] json = new RandomRunscJson(random, false).snapshot().getBytes(UTF_8);
      if (json.length > 300 && readerOrNull(json, RunscJson.BothSetPolicy.REJECT) != null) {
        inputs.add(json);
      }
    }
    for (byte[] json : inputs) {
      int complete = json.length;
      while (complete > 0 && Character.isWhitespace(json[complete - 1])) {
        complete--;
      }
      for (int len = 0; len < complete; len++) {
        assertThat(FastSnapshotReader.snapshot(json, 0, len, RunscJson.BothSetPolicy.REJECT))
            .as("prefix of %d bytes of %s", len, text(json)).isNull();
      }
      assertThat(FastSnapshotReader.snapshot(json, 0, complete, RunscJson.BothSetPolicy.REJECT)).isNotNull();
    }
  }

  @Test
  void exportRepliesAgreeToo() throws Exception {
    Random random = new Random(6);
    int valid = 0;
    int answered = 0;
    for (int round = 0; round < 3000; round++) {
      RandomRunscJson gen = new RandomRunscJson(random, round % 4 == 0);
      byte[] json = gen.reply().getBytes(UTF_8);
      if (round % 3 == 0) {
        json = corrupt(random, json);
      }
      ExportReply expected = replyOrNull(json);
      if (expected != null) {
        valid++;
      }
      ExportReply fast = FastSnapshotReader.exportReply(json, 0, json.length, RunscJson.BothSetPolicy.INT_WINS);
      if (fast != null) {
        answered++;
        assertThat(expected).as("round %d, reader rejects what the fast path took: %s", round, text(json)).isNotNull();
        assertThat(fast).as("round %d: %s", round, text(json)).isEqualTo(expected);
      }
    }
    assertThat(valid).isGreaterThan(500);
    assertThat(answered).isGreaterThanOrEqualTo(valid * 95 / 100);
  }

  @Test
  void theFastPathWorksOnASliceOfALargerArray() throws Exception {
    byte[] snapshot = TestData.bytes("bench/snapshot-175.json");
    byte[] padded = new byte[snapshot.length + 20];
    Arrays.fill(padded, (byte) '}');
    System.arraycopy(snapshot, 0, padded, 10, snapshot.length);
    Snapshot fast = FastSnapshotReader.snapshot(padded, 10, snapshot.length, RunscJson.BothSetPolicy.REJECT);
    assertThat(fast).isNotNull().isEqualTo(RunscJson.readSnapshotWithReader(snapshot, 0, snapshot.length,
        RunscJson.BothSetPolicy.REJECT));
    // Cut one byte short: the slice ends inside the document even though the array goes on.
    assertThat(FastSnapshotReader.snapshot(padded, 10, snapshot.length - 1, RunscJson.BothSetPolicy.REJECT)).isNull();
  }

  // ---- helpers ----

  /** True when the fast path answered; then the reader must give the same model. */
  private static boolean agree(byte[] json, RunscJson.BothSetPolicy policy, int round) {
    Snapshot fast = FastSnapshotReader.snapshot(json, 0, json.length, policy);
    if (fast == null) {
      return false;
    }
    Snapshot expected = readerOrNull(json, policy);
    if (expected == null) {
      fail("round %d: the fast path accepted what the reader rejects: %s", round, text(json));
    }
    assertThat(fast).as("round %d: %s", round, text(json)).isEqualTo(expected);
    return true;
  }

  private static Snapshot readerOrNull(byte[] json, RunscJson.BothSetPolicy policy) {
    try {
      return RunscJson.readSnapshotWithReader(json, 0, json.length, policy);
    } catch (RunscJsonException e) {
      return null;
    }
  }

  private static ExportReply replyOrNull(byte[] json) {
    try {
      return RunscJson.readExportReplyWithReader(json, 0, json.length);
    } catch (RunscJsonException e) {
      return null;
    }
  }

  private static byte[] corrupt(Random random, byte[] original) {
    byte[] json = original;
    int edits = 1 + random.nextInt(3);
    for (int e = 0; e < edits && json.length > 0; e++) {
      int at = random.nextInt(json.length);
      byte b = CORRUPTION_ALPHABET[random.nextInt(CORRUPTION_ALPHABET.length)];
      switch (random.nextInt(4)) {
        case 0: // replace
          json = json.clone();
          json[at] = b;
          break;
        case 1: // insert
          byte[] longer = new byte[json.length + 1];
          System.arraycopy(json, 0, longer, 0, at);
          longer[at] = b;
          System.arraycopy(json, at, longer, at + 1, json.length - at);
          json = longer;
          break;
        case 2: // delete
          byte[] shorter = new byte[json.length - 1];
          System.arraycopy(json, 0, shorter, 0, at);
          System.arraycopy(json, at + 1, shorter, at, json.length - at - 1);
          json = shorter;
          break;
        default: // truncate
          json = Arrays.copyOf(json, at);
      }
    }
    return json;
  }

  private static String text(byte[] json) {
    String s = new String(json, UTF_8);
    return s.length() > 600 ? s.substring(0, 600) + "..." : s;
  }

  /** The raw bytes of each {@code snapshot} in the golden input files, as they are written there. */
  private static List<byte[]> goldenSnapshots() throws Exception {
    List<byte[]> result = new ArrayList<>();
    for (Path file : TestData.list("gvisor-golden", ".in.json")) {
      byte[] bytes = java.nio.file.Files.readAllBytes(file);
      try (JsonParser p = RunscJson.factory().createParser(bytes)) {
        JsonToken t;
        while ((t = p.nextToken()) != null) {
          if (t == JsonToken.FIELD_NAME && p.currentName().equals("snapshot")
              && p.nextToken() == JsonToken.START_OBJECT) {
            int start = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            int end = (int) p.currentLocation().getByteOffset();
            result.add(Arrays.copyOfRange(bytes, start, end));
          }
        }
      }
    }
    assertThat(result).hasSizeGreaterThanOrEqualTo(3);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeSnapshot(out, RunscJson.readSnapshotWithReader(result.get(0), 0, result.get(0).length,
        RunscJson.BothSetPolicy.INT_WINS));
    result.add(out.toByteArray());
    return result;
  }
}
