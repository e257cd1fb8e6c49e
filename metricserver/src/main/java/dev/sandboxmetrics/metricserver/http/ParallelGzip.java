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
 * primed with the last {@value #DICTIONARY_BYTES} bytes of the text before it ({@link Part#dictionary}, then
 * {@link Part#finish(boolean, Dictionary)}): the deflater may then refer back into the previous part as one
 * stream's would, and the decompressor, which sees one continuous stream, needs nothing. Measured on that
 * body at level 1 (README, issue 13): 220 KB, smaller than one stream, for 5-15% more deflate CPU (0.3-0.9
 * ms); a 32 KB dictionary (zlib's whole window) compresses no better and costs 25%: zlib hashes every byte.
 *
 * <p>A part keeps its text until it is finished (it is deflated in one call, from one array), because its
 * dictionary is known only when the part before it is rendered; the array is pooled with the Deflater, so
 * the copy costs a memcpy and no garbage. Feeding the deflater 32 KB at a time or a whole part at once
 * measured the same; from a direct buffer, slower (the heap arrays are handed to zlib without a copy).
 *
 * <p>The arrays a part hands on are pooled too: its tail goes into a {@link Dictionary} that the part after it
 * gives back once its deflater has it ({@link Part#finish(boolean, Dictionary)}), and its deflate data into
 * an {@link Output} that the writer gives back once it has sent it ({@link #recycle}). Copying a new 16 KB
 * tail and a new array of deflate data for every part was ~0.8 MB of garbage per scrape of 100 sandboxes
 * (issue 13, third pass). One that is never given back (a response that failed) is simply collected.
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

  /** An {@link Output}'s array to start with: a 128 KB part of Prometheus text deflates to ~8 KB at level 1. */
  private static final int OUTPUT_BYTES = 16 * 1024;
  /** An {@link Output} whose array grew beyond this (text that does not compress) is not kept. */
  private static final int KEEP_OUTPUT_AT_MOST = 256 * 1024;

  private final int level;
  private final ArrayBlockingQueue<Compressor> idle;
  /** Tails and deflate data given back; a few more than the parts of one response in flight. */
  private final ArrayBlockingQueue<Dictionary> dictionaries;
  private final ArrayBlockingQueue<Output> outputs;
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
    this.dictionaries = new ArrayBlockingQueue<>(Math.max(1, pooled));
    this.outputs = new ArrayBlockingQueue<>(Math.max(1, pooled) + 8);
  }

  public int level() {
    return level;
  }

  /**
   * Starts a part: write its uncompressed bytes to the returned stream, then call
   * {@link Part#finish(boolean, Dictionary)}.
   */
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

  /**
   * Takes back an {@link Output} whose bytes have been sent; it must not be read afterwards. Optional: one
   * not given back is collected as garbage.
   */
  public void recycle(Output output) {
    if (output.bytes.length <= KEEP_OUTPUT_AT_MOST) {
      output.length = 0;
      outputs.offer(output);
    }
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

  private void giveBack(Dictionary d) {
    if (d.bytes.length == DICTIONARY_BYTES) {
      dictionaries.offer(d);
    }
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

  /** A Deflater and the array that collects the part's text, kept together so the array is reused too. */
  private static final class Compressor {
    final Deflater deflater;
    byte[] in = new byte[64 * 1024];

    Compressor(Deflater deflater) {
      this.deflater = deflater;
    }
  }

  /**
   * The last bytes of a part's text ({@link Part#dictionary}), to prime the part after it; the array is
   * pooled, and the part that uses it gives it back.
   */
  public static final class Dictionary {
    private final byte[] bytes;
    private int length;

    private Dictionary(int capacity) {
      bytes = new byte[capacity];
    }

    /** A copy of the bytes; for tests. */
    public byte[] toByteArray() {
      return Arrays.copyOf(bytes, length);
    }
  }

  /**
   * A part's deflate data: {@link #bytes()} from 0 to {@link #length()}. From a pool: give it back with
   * {@link ParallelGzip#recycle} once the bytes are sent.
   */
  public static final class Output {
    private byte[] bytes;
    private int length;

    private Output(int capacity) {
      bytes = new byte[capacity];
    }

    public byte[] bytes() {
      return bytes;
    }

    public int length() {
      return length;
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
     * The last {@link #DICTIONARY_BYTES} bytes written (fewer if fewer were written), for the dictionary of
     * the part that follows this one in the stream, which gives it back ({@link #finish(boolean, Dictionary)}).
     */
    public Dictionary dictionary() {
      return dictionary(DICTIONARY_BYTES);
    }

    /** The last {@code bytes} bytes written (fewer if fewer were written); other sizes than 16 KB for benchmarks. */
    public Dictionary dictionary(int bytes) {
      Dictionary d = bytes == DICTIONARY_BYTES ? dictionaries.poll() : null;
      if (d == null) {
        d = new Dictionary(bytes);
      }
      int n = Math.min(bytes, length);
      System.arraycopy(compressor().in, length - n, d.bytes, 0, n);
      d.length = n;
      return d;
    }

    /** A copy of the last {@link #DICTIONARY_BYTES} bytes written; for tests. */
    public byte[] tail() {
      Dictionary d = dictionary();
      byte[] copy = d.toByteArray();
      giveBack(d);
      return copy;
    }

    /** {@link #finish(boolean, Dictionary)} with no dictionary, the deflate data copied out; for tests. */
    public byte[] finish(boolean last) {
      Output out = finish(last, (Dictionary) null);
      byte[] data = Arrays.copyOf(out.bytes, out.length);
      recycle(out);
      return data;
    }

    /**
     * Deflates the text and returns the part's deflate data: ending in a sync flush when more parts follow,
     * in the final block when {@code last}. The Deflater goes back to the pool, and so does the dictionary
     * (zlib copies it into its window).
     *
     * @param dictionary the {@link #dictionary} of the part just before this one in the stream (or null, or
     *     empty, to start with an empty window, as the first part must)
     */
    public Output finish(boolean last, Dictionary dictionary) {
      Compressor c = compressor();
      Deflater d = c.deflater;
      if (dictionary != null) {
        if (dictionary.length > 0) {
          d.setDictionary(dictionary.bytes, 0, dictionary.length);
        }
        giveBack(dictionary);
      }
      Output out = outputs.poll();
      if (out == null) {
        out = new Output(OUTPUT_BYTES);
      }
      d.setInput(c.in, 0, length);
      if (last) {
        d.finish();
        while (!d.finished()) {
          deflate(d, out, Deflater.NO_FLUSH);
        }
      } else {
        while (!d.needsInput()) {
          deflate(d, out, Deflater.NO_FLUSH);
        }
        // A flush is complete when it leaves room in the output array.
        while (deflate(d, out, Deflater.SYNC_FLUSH)) {
          // more to flush
        }
      }
      close();
      return out;
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

    /** Deflates into the output's array; true when the array was filled (there may be more to come). */
    private boolean deflate(Deflater d, Output out, int flush) {
      if (out.bytes.length - out.length < 4096) {
        out.bytes = Arrays.copyOf(out.bytes, out.bytes.length * 2);
      }
      int room = out.bytes.length - out.length;
      int n = d.deflate(out.bytes, out.length, room, flush);
      out.length += n;
      return n == room;
    }
  }
}
