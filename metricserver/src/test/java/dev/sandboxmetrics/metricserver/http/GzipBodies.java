package dev.sandboxmetrics.metricserver.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/** Reads gzip bodies strictly, for tests: one member, nothing after it (curl's rule), the trailer right. */
public final class GzipBodies {
  private GzipBodies() {}

  /** Decompresses exactly one gzip member and checks that nothing follows it, as curl does. */
  public static byte[] singleMember(byte[] body) throws DataFormatException {
    assertThat(Arrays.copyOf(body, 10)).isEqualTo(ParallelGzip.HEADER);
    Inflater inflater = new Inflater(true);
    try {
      inflater.setInput(body, 10, body.length - 10);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[65536];
      while (!inflater.finished()) {
        int n = inflater.inflate(buf);
        if (n == 0 && inflater.needsInput()) {
          throw new AssertionError("the deflate stream ends before its final block");
        }
        out.write(buf, 0, n);
      }
      assertThat(inflater.getRemaining()).as("bytes after the deflate stream: the trailer only").isEqualTo(8);
      byte[] text = out.toByteArray();
      byte[] trailer = Arrays.copyOfRange(body, body.length - 8, body.length);
      assertThat(trailer).isEqualTo(ParallelGzip.trailer(crc(text), text.length));
      return text;
    } finally {
      inflater.end();
    }
  }

  /** The number of sync-flush markers (an empty stored block, 00 00 ff ff) in a body: one per part boundary. */
  public static int syncFlushes(byte[] body) {
    int n = 0;
    for (int i = 0; i + 3 < body.length; i++) {
      if (body[i] == 0 && body[i + 1] == 0 && body[i + 2] == (byte) 0xff && body[i + 3] == (byte) 0xff) {
        n++;
      }
    }
    return n;
  }

  private static int crc(byte[] b) {
    CRC32 c = new CRC32();
    c.update(b);
    return (int) c.getValue();
  }
}
