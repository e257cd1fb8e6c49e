package dev.sandboxmetrics.metricserver.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** Parts compressed apart, laid end to end between one header and one trailer, are one valid gzip member. */
class ParallelGzipTest {
  private final Random random = new Random(13);

  @Test
  void combinedCrcIsTheCrcOfTheConcatenation() {
    for (int a : new int[] {0, 1, 7, 1000, 70_000}) {
      for (int b : new int[] {0, 1, 3, 4096, 200_001}) {
        byte[] first = randomBytes(a);
        byte[] second = randomBytes(b);
        CRC32 whole = new CRC32();
        whole.update(first);
        whole.update(second);

        int combined = ParallelGzip.combineCrc(crc(first), crc(second), b);

        assertThat(combined).as("lengths %d and %d", a, b).isEqualTo((int) whole.getValue());
      }
    }
  }

  @Test
  void partsMakeOneMemberThatDecompressesToTheWholeText() throws Exception {
    byte[] text = prometheusLikeText(600_000);
    try (ParallelGzip gzip = new ParallelGzip(1, 2)) {
      byte[] body = compressInParts(gzip, text, 5);

      assertThat(new GZIPInputStream(new ByteArrayInputStream(body)).readAllBytes()).isEqualTo(text);
      assertThat(GzipBodies.singleMember(body)).isEqualTo(text);
      // Barely larger than the text compressed in one piece.
      byte[] onePiece = compressInParts(gzip, text, 1);
      assertThat(body.length).isLessThan(onePiece.length + onePiece.length / 50);
      assertThat(onePiece.length).isLessThan(text.length / 5);
    }
  }

  @Test
  void partsPrimedWithTheTextBeforeThemCompressAsWellAsOneStream() throws Exception {
    byte[] text = prometheusLikeText(600_000);
    try (ParallelGzip gzip = new ParallelGzip(1, 2)) {
      byte[] onePiece = compressInParts(gzip, text, 1, false);
      for (int parts : new int[] {2, 5, 40, 1000}) {
        byte[] primed = compressInParts(gzip, text, parts, true);
        byte[] unprimed = compressInParts(gzip, text, parts, false);

        assertThat(GzipBodies.singleMember(primed)).as("%d parts", parts).isEqualTo(text);
        assertThat(new GZIPInputStream(new ByteArrayInputStream(primed)).readAllBytes()).isEqualTo(text);
        // Parts of 15 KB and more: within 2% of one stream. (Each part ends a deflate block, whose Huffman
        // tables the next block sends again: parts of 600 bytes pay that, with or without a dictionary.)
        if (parts <= 40) {
          assertThat(primed.length).as("%d parts", parts).isLessThan(onePiece.length + onePiece.length / 50);
        }
        assertThat(primed.length).as("%d parts", parts).isLessThan(unprimed.length);
      }
    }
  }

  @Test
  void theTailIsTheEndOfTheTextWritten() throws IOException {
    try (ParallelGzip gzip = new ParallelGzip(1, 1)) {
      ParallelGzip.Part part = gzip.start();
      part.write("short".getBytes(StandardCharsets.UTF_8));
      assertThat(part.tail()).isEqualTo("short".getBytes(StandardCharsets.UTF_8));
      byte[] more = randomBytes(3 * ParallelGzip.DICTIONARY_BYTES);
      part.write(more);
      assertThat(part.tail())
          .isEqualTo(Arrays.copyOfRange(more, more.length - ParallelGzip.DICTIONARY_BYTES, more.length));
      part.close();
    }
  }

  @Test
  void emptyPartsAndAnEmptyBodyAreValid() throws Exception {
    try (ParallelGzip gzip = new ParallelGzip(6, 1)) {
      byte[] empty = compress(gzip, new byte[0][]);
      assertThat(GzipBodies.singleMember(empty)).isEmpty();
      byte[] withEmptyParts = compress(gzip, new byte[][] {new byte[0], "a\n".getBytes(StandardCharsets.UTF_8), new byte[0]});
      assertThat(GzipBodies.singleMember(withEmptyParts)).isEqualTo("a\n".getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void afterCloseNoPartStartsAndAPartInProgressStillFinishes() throws Exception {
    ParallelGzip gzip = new ParallelGzip(1, 1);
    ParallelGzip.Part part = gzip.start();
    part.write("late\n".getBytes(StandardCharsets.UTF_8));
    gzip.close();

    byte[] data = part.finish(true);

    assertThat(data).isNotEmpty();
    assertThatThrownBy(gzip::start).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> part.write(1)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void pooledDictionariesAndOutputsAreNeverHandedOutTwiceWhileInUse() throws IOException {
    try (ParallelGzip gzip = new ParallelGzip(1, 2)) {
      List<ParallelGzip.Dictionary> dictionaries = new ArrayList<>();
      List<ParallelGzip.Output> outputs = new ArrayList<>();
      byte[] text = prometheusLikeText(40_000);
      for (int round = 0; round < 3; round++) {
        // Five parts in flight: their dictionaries and outputs are all distinct, whatever came back before.
        for (int i = 0; i < 5; i++) {
          ParallelGzip.Part part = gzip.start();
          part.write(text, 0, text.length - i);
          ParallelGzip.Dictionary d = part.dictionary();
          assertThat(dictionaries).noneMatch(other -> other == d);
          dictionaries.add(d);
          ParallelGzip.Output out = part.finish(false, null);
          assertThat(outputs).noneMatch(other -> other == out || other.bytes() == out.bytes());
          outputs.add(out);
        }
        // The next parts use the dictionaries (which gives them back) and the outputs go back once sent.
        byte[] expectedTail =
            Arrays.copyOfRange(text, text.length - ParallelGzip.DICTIONARY_BYTES, text.length);
        assertThat(dictionaries.get(0).toByteArray()).isEqualTo(expectedTail);
        for (ParallelGzip.Dictionary d : dictionaries) {
          ParallelGzip.Part next = gzip.start();
          next.write(text, 0, 100);
          gzip.recycle(next.finish(true, d));
        }
        dictionaries.clear();
        outputs.forEach(gzip::recycle);
        outputs.clear();
      }
    }
  }

  /** Several threads compressing whole bodies with one ParallelGzip: its pools never mix their bytes. */
  @Test
  void concurrentBodiesDoNotShareTheirPooledArrays() throws Exception {
    try (ParallelGzip gzip = new ParallelGzip(1, 2)) {
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int t = 0; t < 4; t++) {
        byte[] text = prometheusLikeText(200_000 + 30_000 * t);
        Thread thread = new Thread(() -> {
          try {
            for (int i = 0; i < 20; i++) {
              byte[] body = compressInParts(gzip, text, 2 + i % 7, true);
              assertThat(GzipBodies.singleMember(body)).isEqualTo(text);
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join(60_000);
      }
      assertThat(failures).isEmpty();
    }
  }

  private static byte[] compressInParts(ParallelGzip gzip, byte[] text, int parts) throws IOException {
    return compressInParts(gzip, text, parts, false);
  }

  private static byte[] compressInParts(ParallelGzip gzip, byte[] text, int parts, boolean primed)
      throws IOException {
    byte[][] pieces = new byte[parts][];
    int per = text.length / parts;
    for (int i = 0; i < parts; i++) {
      pieces[i] = Arrays.copyOfRange(text, i * per, i == parts - 1 ? text.length : (i + 1) * per);
    }
    return compress(gzip, pieces, primed);
  }

  private static byte[] compress(ParallelGzip gzip, byte[][] pieces) throws IOException {
    return compress(gzip, pieces, false);
  }

  /** Compresses the pieces as parts of one member, each primed with the tail of the one before if asked. */
  private static byte[] compress(ParallelGzip gzip, byte[][] pieces, boolean primed) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(ParallelGzip.HEADER);
    int crc = 0;
    long length = 0;
    if (pieces.length == 0) {
      body.write(gzip.start().finish(true));
    }
    ParallelGzip.Dictionary tail = null;
    for (int i = 0; i < pieces.length; i++) {
      ParallelGzip.Part part = gzip.start();
      // In several writes, as the renderer hands its buffer over.
      for (int off = 0; off < pieces[i].length; off += 32 * 1024) {
        part.write(pieces[i], off, Math.min(32 * 1024, pieces[i].length - off));
      }
      crc = ParallelGzip.combineCrc(crc, part.crc(), part.length());
      length += part.length();
      ParallelGzip.Dictionary dictionary = tail;
      tail = primed ? part.dictionary() : null;
      ParallelGzip.Output out = part.finish(i == pieces.length - 1, dictionary);
      body.write(out.bytes(), 0, out.length());
      gzip.recycle(out);
    }
    body.write(ParallelGzip.trailer(crc, length));
    return body.toByteArray();
  }

  private static int crc(byte[] b) {
    CRC32 c = new CRC32();
    c.update(b);
    return (int) c.getValue();
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private byte[] prometheusLikeText(int size) {
    StringBuilder s = new StringBuilder();
    while (s.length() < size) {
      int i = random.nextInt(1000);
      s.append("runsc_fs_reads{iteration=\"it").append(i % 7).append("\",sandbox=\"sandbox-").append(i)
          .append("\"} ").append(random.nextInt(1_000_000)).append(" 1704164645678\n");
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }
}
