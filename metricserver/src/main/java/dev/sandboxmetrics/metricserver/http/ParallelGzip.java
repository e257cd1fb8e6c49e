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
 * <p>A part's deflater would start with an empty window, and the body would come out ~9% larger than one
 * stream (Prometheus text repeats itself line after line, and each part lost its first kilobytes to
 * learning it again: 242 KB against 223 KB at 100 bench sandboxes, 29 parts of 128 KB). So a part may be
 * primed with the last {@value #DICTIONARY_BYTES} bytes of the text before it ({@link Part#tail}, then
 * {@link Part#finish(boolean, byte[])}): the deflater may then refer back into the previous part as one
 * stream's would, and the decompressor, which sees one continuous stream, needs nothing. Measured on that
 * body at level 1 (README, issue 13): 220 KB, smaller than one stream, for 5-15% more deflate CPU (0.3-0.9
 * ms); a 32 KB dictionary (zlib's whole window) compresses no better and costs 25%: zlib hashes every byte.
 *
 * <p>A part keeps its text until it is finished (it is deflated in one call, from one array), because its
 * dictionary is known only when the part before it is rendered; the array is pooled with the Deflater, so
 * the copy costs a memcpy and no garbage. Feeding the deflater 32 KB at a time or a whole part at once
 * measured the same; from a direct buffer, slower (the heap arrays are handed to zlib without a copy).
 *
 * <p>Made by the metric server at start-up with {@code --gzip-level}; used by the {@code /metrics} endpoint.
 * It keeps a small pool of {@link Deflater}s; {@link #close} ends their native memory at shutdown (one still
 * in use is ended when it is handed back). Thread-safe.
 */
public final class ParallelGzip implements AutoCloseable {
  /** The member's header: deflate, no name, no time, no extra fields, OS "unknown" (255). */
  public static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};

  /**
   * How much of the text before a part primes its deflater: 16 KB gave all of 32 KB's gain in size (and
   * 8 KB half of it) on the bench body, for a quarter of the CPU.
   */
  public static final int DICTIONARY_BYTES = 16 * 1024;

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

  /** A Deflater, the part's text and the output array it fills, kept together so the arrays are reused too. */
  private static final class Compressor {
    final Deflater deflater;
    byte[] in = new byte[64 * 1024];
    byte[] out = new byte[64 * 1024];

    Compressor(Deflater deflater) {
      this.deflater = deflater;
    }
  }

  /**
   * One part of the stream being written: its text is collected by {@link #write} and deflated by
   * {@link #finish}. Not thread-safe: one thread writes it and then finishes it (or abandons it with
   * {@link #close}, which hands the Deflater back too).
   */
  public final class Part extends OutputStream {
    private Compressor compressor;
    private int length;
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
      Compressor c = compressor();
      if (c.in.length - length < len) {
        // By half: a part is a slice of ~128 KB and a bit, and the array stays in the pool.
        c.in = Arrays.copyOf(c.in, Math.max(c.in.length + c.in.length / 2, Math.addExact(length, len)));
      }
      System.arraycopy(b, off, c.in, length, len);
      length += len;
    }

    /**
     * A copy of the last {@link #DICTIONARY_BYTES} bytes written (fewer if fewer were written), for the
     * dictionary of the part that follows this one in the stream.
     */
    public byte[] tail() {
      return tail(DICTIONARY_BYTES);
    }

    /** A copy of the last {@code bytes} bytes written (fewer if fewer were written); for benchmarks. */
    public byte[] tail(int bytes) {
      int n = Math.min(bytes, length);
      return Arrays.copyOfRange(compressor().in, length - n, length);
    }

    /** {@link #finish(boolean, byte[])} with no dictionary: the part starts with an empty window. */
    public byte[] finish(boolean last) {
      return finish(last, null);
    }

    /**
     * Deflates the text and returns the part's deflate data: ending in a sync flush when more parts follow,
     * in the final block when {@code last}. The Deflater goes back to the pool.
     *
     * @param dictionary the {@link #tail} of the part just before this one in the stream (or null, or
     *     empty, to start with an empty window, as the first part must)
     */
    public byte[] finish(boolean last, byte[] dictionary) {
      Compressor c = compressor();
      Deflater d = c.deflater;
      if (dictionary != null && dictionary.length > 0) {
        d.setDictionary(dictionary);
      }
      d.setInput(c.in, 0, length);
      if (last) {
        d.finish();
        while (!d.finished()) {
          deflate(d, Deflater.NO_FLUSH);
        }
      } else {
        while (!d.needsInput()) {
          deflate(d, Deflater.NO_FLUSH);
        }
        // A flush is complete when it leaves room in the output array.
        while (deflate(d, Deflater.SYNC_FLUSH)) {
          // more to flush
        }
      }
      byte[] data = Arrays.copyOf(c.out, size);
      close();
      return data;
    }

    /** The CRC-32 of the bytes written. */
    public int crc() {
      CRC32 crc = new CRC32();
      crc.update(compressor().in, 0, length);
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
