package dev.sandboxmetrics.metricserver.http;

import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * One gzip stream (RFC 1952) compressed in parts on several threads, as pigz does: each part of the body is
 * deflated on its own, the parts but the last ending in a sync flush (which ends on a byte boundary and
 * leaves the stream open), the last in the final block; laid end to end after one {@link #HEADER}, they are
 * one valid deflate stream, and the {@link #trailer} takes the parts' CRC-32s combined. The result is a
 * single gzip member, which every client reads: a body of several members would be simpler, but curl
 * ({@code --compressed}) rejects the bytes after the first member (error 23; curl's maintainers keep it an
 * error, curl/curl#12340, #22156) and other readers stop there.
 *
 * <p>Each part starts with an empty window, so the body compresses a little worse than in one piece
 * (about 0.1% at parts of 128 KB of Prometheus text). Compared with Netty's compressor in the pipeline,
 * which runs on the event loop and deflates each 32 KB chunk with a sync flush from a copy of the direct
 * buffer, a part here takes the renderer's own arrays as input and flushes once, at its end.
 *
 * <p>Made by the metric server at start-up with {@code --gzip-level}; used by the {@code /metrics} endpoint.
 * It keeps a small pool of {@link Deflater}s; {@link #close} ends their native memory at shutdown (one still
 * in use is ended when it is handed back). Thread-safe.
 */
public final class ParallelGzip implements AutoCloseable {
  /** The member's header: deflate, no name, no time, no extra fields, OS "unknown" (255). */
  public static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};

  /** The CRC-32 polynomial, reflected. */
  private static final int POLY = 0xedb88320;
  /** {@code X2N[k]} is x^(2^k) modulo the polynomial: the factor that moves a CRC past 2^k zero bits. */
  private static final int[] X2N = new int[32];

  static {
    int p = 1 << 30; // x^1 (in the reflected form the highest bit is x^0)
    for (int k = 0; k < 32; k++) {
      X2N[k] = p;
      p = multiplyModP(p, p);
    }
  }

  private final int level;
  private final ArrayBlockingQueue<Compressor> idle;
  private volatile boolean closed;

  /**
   * @param level the deflate level, 1 (fastest) to 9
   * @param pooled how many idle Deflaters to keep (about the number of threads that compress at once)
   */
  public ParallelGzip(int level, int pooled) {
    if (level < 1 || level > 9) {
      throw new IllegalArgumentException("gzip level must be 1 to 9, got " + level);
    }
    this.level = level;
    this.idle = new ArrayBlockingQueue<>(Math.max(1, pooled));
  }

  public int level() {
    return level;
  }

  /** Starts a part: write its uncompressed bytes to the returned stream, then call {@link Part#finish}. */
  public Part start() {
    if (closed) {
      throw new IllegalStateException("the server is shutting down");
    }
    Compressor c = idle.poll();
    if (c == null) {
      c = new Compressor(new Deflater(level, true));
    }
    return new Part(c);
  }

  /** Ends the idle Deflaters; parts in progress end theirs when they finish. */
  @Override
  public void close() {
    closed = true;
    Compressor c;
    while ((c = idle.poll()) != null) {
      c.deflater.end();
    }
  }

  /** The gzip trailer: the CRC-32 and the length (modulo 2^32) of all the uncompressed bytes. */
  public static byte[] trailer(int crc, long length) {
    byte[] t = new byte[8];
    for (int i = 0; i < 4; i++) {
      t[i] = (byte) (crc >>> (8 * i));
      t[4 + i] = (byte) (length >>> (8 * i));
    }
    return t;
  }

  /**
   * The CRC-32 of bytes A followed by bytes B, from the CRC-32 of A, that of B, and B's length: A's CRC
   * moved past B's length in zero bits (a multiplication by x^(8 * lengthB) modulo the polynomial), plus
   * B's. Costs a few hundred operations, whatever the lengths.
   */
  public static int combineCrc(int crcA, int crcB, long lengthB) {
    if (lengthB <= 0) {
      return crcA;
    }
    // x^(8 * lengthB): the bits of lengthB pick the powers x^(2^(k+3)).
    int factor = 1 << 31; // x^0
    int k = 3;
    for (long n = lengthB; n != 0; n >>>= 1, k++) {
      if ((n & 1) != 0) {
        factor = multiplyModP(X2N[k & 31], factor);
      }
    }
    return multiplyModP(factor, crcA) ^ crcB;
  }

  /** a(x) * b(x) modulo the CRC-32 polynomial, both in the reflected form. */
  private static int multiplyModP(int a, int b) {
    int product = 0;
    for (int bit = 1 << 31; bit != 0; bit >>>= 1) {
      if ((a & bit) != 0) {
        product ^= b;
      }
      b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
    }
    return product;
  }

  private void release(Compressor c) {
    c.deflater.reset();
    if (closed || !idle.offer(c)) {
      c.deflater.end();
    } else if (closed && idle.remove(c)) {
      // close() ran between the check and the offer and may have drained the pool before this was in it.
      c.deflater.end();
    }
  }

  /** A Deflater and the output array it fills, kept together so that the array is reused too. */
  private static final class Compressor {
    final Deflater deflater;
    byte[] out = new byte[64 * 1024];

    Compressor(Deflater deflater) {
      this.deflater = deflater;
    }
  }

  /**
   * One part of the stream being written. Not thread-safe: one thread writes it and then finishes it (or
   * abandons it with {@link #close}, which hands the Deflater back too).
   */
  public final class Part extends OutputStream {
    private Compressor compressor;
    private final CRC32 crc = new CRC32();
    private long length;
    private int size;

    private Part(Compressor compressor) {
      this.compressor = compressor;
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      Deflater d = compressor().deflater;
      crc.update(b, off, len);
      length += len;
      d.setInput(b, off, len);
      while (!d.needsInput()) {
        deflate(d, Deflater.NO_FLUSH);
      }
    }

    /**
     * Ends the part and returns its deflate data: ending in a sync flush when more parts follow, in the
     * final block when {@code last}. The Deflater goes back to the pool.
     */
    public byte[] finish(boolean last) {
      Deflater d = compressor().deflater;
      if (last) {
        d.finish();
        while (!d.finished()) {
          deflate(d, Deflater.NO_FLUSH);
        }
      } else {
        // A flush is complete when it leaves room in the output array.
        while (deflate(d, Deflater.SYNC_FLUSH)) {
          // more to flush
        }
      }
      byte[] data = Arrays.copyOf(compressor.out, size);
      close();
      return data;
    }

    /** The CRC-32 of the bytes written. */
    public int crc() {
      return (int) crc.getValue();
    }

    /** The number of bytes written (uncompressed). */
    public long length() {
      return length;
    }

    /** Gives the Deflater back without finishing (after a failure); idempotent. */
    @Override
    public void close() {
      Compressor c = compressor;
      if (c != null) {
        compressor = null;
        release(c);
      }
    }

    private Compressor compressor() {
      if (compressor == null) {
        throw new IllegalStateException("gzip part already finished");
      }
      return compressor;
    }

    /** Deflates into the output array; true when the array was filled (there may be more to come). */
    private boolean deflate(Deflater d, int flush) {
      Compressor c = compressor;
      if (c.out.length - size < 4096) {
        c.out = Arrays.copyOf(c.out, c.out.length * 2);
      }
      int room = c.out.length - size;
      int n = d.deflate(c.out, size, room, flush);
      size += n;
      return n == room;
    }
  }
}
