package dev.sandboxmetrics.runsc.control;

import dev.sandboxmetrics.snapshot.UntrustedText;
import dev.sandboxmetrics.snapshot.json.ExportReply;
import dev.sandboxmetrics.snapshot.json.JsonValueFramer;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Receives one uRPC reply as it arrives in pieces, for both control clients (the blocking one of
 * {@code export-metrics} and the event-driven one of the metric server): finds where the JSON value ends
 * (uRPC has no length prefix), refuses it the moment it passes its maximum size, and holds it in bounded
 * pieces charged to a {@link ReplyBudget}: never a doubling array, so a 128 MiB reply costs at most the
 * maximum plus one piece before it is refused.
 *
 * <p>The first piece has the size the caller expects (the sandbox's last reply, plus a margin), so a reply
 * usually arrives into one array that the decoder reads in place; more pieces of {@link #CHUNK_BYTES} are
 * added as needed and joined once at the end. While the reply fits the first piece, bytes that end with a
 * '}' are tried with the fast decoder at most once (a reply arrives in one or a few reads, so that usually
 * decodes it at once); otherwise {@link JsonValueFramer} finds the end, reading every byte once.
 *
 * <p>Not thread-safe: one per call. {@link #release()} gives the budget back; call it when done with the
 * bytes (after decoding), or when the call fails.
 *
 * <p>A {@link #recycling} buffer (the metric server's) takes its first piece from a small pool of the
 * calling thread and puts it back the moment the fast decoder has read the reply: the bytes are not needed
 * after that, and the next reply on the same event loop (usually the next sandbox's, a moment later) fills
 * the same array. Without it every reply was a fresh array of its size, a seventh of what a scrape
 * allocated. The pool keeps at most {@link #POOL_SLOTS} arrays of at most {@link #RETAIN_MAX_BYTES} per
 * thread, so a sandbox's huge reply is never kept past its call.
 */
public final class ReplyBuffer {
  /** Size of the pieces after the first. */
  public static final int CHUNK_BYTES = 64 << 10;
  /** The first piece when the size is unknown: a real sandbox's whole reply (about 100 KB) fits. */
  static final int UNKNOWN_FIRST_BYTES = 256 << 10;
  /** Arrays a thread's pool keeps for {@link #recycling} buffers. */
  static final int POOL_SLOTS = 4;
  /**
   * The largest array a pool keeps: a real sandbox's reply (about 100 KB, plus the margin) fits; a larger
   * one, or the first reply of a sandbox of unknown size, goes to the collector after its call.
   */
  static final int RETAIN_MAX_BYTES = 128 << 10;
  /** Per thread (the event loops that receive replies): taken from and given back on that thread only. */
  private static final ThreadLocal<byte[][]> POOL = ThreadLocal.withInitial(() -> new byte[POOL_SLOTS][]);

  /** Copies the next {@code n} bytes of the transport's input into {@code dst[off, off + n)}. */
  @FunctionalInterface
  public interface Source {
    void copyTo(byte[] dst, int off, int n);
  }

  private final int max;
  private final RunscJson.BothSetPolicy policy;
  private final int firstChunkBytes;
  private final ReplyBudget budget;
  private final Path socket;
  private final boolean recycle;
  private final JsonValueFramer framer = new JsonValueFramer();
  private final List<byte[]> chunks = new ArrayList<>();
  private long reserved;
  /** Bytes of the pieces allocated (not counting the joined copy). */
  private long allocated;
  /** Bytes received (of the reply and, at the end, maybe past it). */
  private int length;
  /** Bytes of the complete reply, or -1. */
  private int complete = -1;
  /** Fill of the last chunk. */
  private int lastFill;
  /** Bytes usable in the last chunk: its length, except a pooled first piece, which may be longer. */
  private int lastCap;
  /** Whether the first piece went back to the pool: the bytes are gone, the decoded reply stays. */
  private boolean recycled;
  /** Whether the framer reads the bytes (after the one fast attempt failed, or the reply left the first piece). */
  private boolean framing;
  private int framed;
  private ExportReply decoded;
  private byte[] joined;

  /**
   * @param maxBytes the largest reply accepted
   * @param expectedBytes the reply's expected size (0 if unknown): the first piece's size, with a margin
   * @param socket named in error messages; may be null
   */
  public ReplyBuffer(int maxBytes, int expectedBytes, ReplyBudget budget, Path socket) {
    this(maxBytes, expectedBytes, budget, socket, RunscJson.BothSetPolicy.INT_WINS);
  }

  /** As above, decoding on the way with {@code policy} for numbers with both parts set. */
  public ReplyBuffer(int maxBytes, int expectedBytes, ReplyBudget budget, Path socket, RunscJson.BothSetPolicy policy) {
    this(maxBytes, expectedBytes, budget, socket, policy, false, false);
  }

  /**
   * As above, with the first piece from the calling thread's pool and back into it as soon as the fast
   * decoder has read the reply; {@link #bytes()} is then unavailable (the caller uses {@link #decoded()}).
   * {@link #append} must run on one thread (an event loop).
   */
  public static ReplyBuffer recycling(
      int maxBytes, int expectedBytes, ReplyBudget budget, Path socket, RunscJson.BothSetPolicy policy) {
    return new ReplyBuffer(maxBytes, expectedBytes, budget, socket, policy, false, true);
  }

  /**
   * A buffer for a reply that is not {@code Metrics.Export}'s (e.g. {@code containerManager.Event}'s): it
   * only finds the reply's end, without the attempt to decode it as an export on the way.
   */
  public static ReplyBuffer framingOnly(int maxBytes, int expectedBytes, ReplyBudget budget, Path socket) {
    return new ReplyBuffer(maxBytes, expectedBytes, budget, socket, RunscJson.BothSetPolicy.INT_WINS, true, false);
  }

  private ReplyBuffer(int maxBytes, int expectedBytes, ReplyBudget budget, Path socket,
      RunscJson.BothSetPolicy policy, boolean framingOnly, boolean recycle) {
    this.framing = framingOnly;
    this.recycle = recycle;
    this.policy = policy;
    this.max = maxBytes;
    // A margin of 1/16 for a reply that grew a little (new label combinations, longer numbers).
    long first = expectedBytes <= 0 ? UNKNOWN_FIRST_BYTES : expectedBytes + (expectedBytes >> 4) + 64;
    this.firstChunkBytes = (int) Math.max(1, Math.min(first, maxBytes));
    this.budget = budget;
    this.socket = socket;
  }

  /** Bytes received so far. */
  public int received() {
    return length;
  }

  public boolean isComplete() {
    return complete >= 0;
  }

  /**
   * Reserves room for {@code n} more bytes in the budget, unless it is there already.
   *
   * <p>Only a reply that holds nothing yet waits for the budget: waiters hold nothing, so whatever is held
   * belongs to replies that are moving and will give it back, and no set of replies can wait for each
   * other. A reply that outgrows its first piece while the budget is exhausted fails instead.
   *
   * @return false when the budget is exhausted and nothing is held yet: wait
   *     ({@link ReplyBudget#awaitRelease}) and try again
   * @throws ControlException {@code REPLY_TOO_LARGE} when the reply would pass its maximum, or needs to
   *     grow while the budget is exhausted
   */
  public boolean reserve(int n) throws ControlException {
    if ((long) length + n > max) {
      throw tooLarge();
    }
    long extra = capacityAfter(n) - reserved;
    if (extra <= 0) {
      return true;
    }
    if (!budget.tryReserve(extra)) {
      if (reserved == 0) {
        return false;
      }
      throw new ControlException(ControlException.Kind.REPLY_TOO_LARGE, socket,
          "the reply grew past " + length + " bytes while other sandboxes' replies used the server's budget"
              + " for replies in flight (--max-reply-bytes-in-flight)");
    }
    reserved += extra;
    return true;
  }

  /** The bytes of pieces allocated once {@code n} more bytes are appended (pieces fill in order). */
  private long capacityAfter(int n) {
    long capacity = allocated;
    long target = (long) length + n;
    boolean first = chunks.isEmpty();
    while (capacity < target) {
      // The sizes append allocates: the first piece, then pieces of at most CHUNK_BYTES up to the maximum.
      capacity += first ? firstChunkBytes : Math.min(CHUNK_BYTES, max - capacity);
      first = false;
    }
    return capacity;
  }

  /**
   * Appends {@code n} bytes (room for them must have been {@link #reserve reserved}).
   *
   * @return true when the reply is complete (bytes after its end are ignored)
   * @throws ControlException {@code REPLY_TOO_LARGE} or {@code MALFORMED_REPLY}
   */
  public boolean append(Source source, int n) throws ControlException {
    if (complete >= 0) {
      return true;
    }
    if ((long) length + n > max) {
      throw tooLarge();
    }
    int left = n;
    while (left > 0) {
      byte[] last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
      if (last == null || lastFill == lastCap) {
        if (chunks.isEmpty()) {
          last = recycle ? take(firstChunkBytes) : null;
          if (last == null) {
            last = new byte[firstChunkBytes];
          }
          lastCap = firstChunkBytes;
        } else {
          last = new byte[(int) Math.min(CHUNK_BYTES, max - allocated)];
          lastCap = last.length;
        }
        chunks.add(last);
        allocated += lastCap;
        lastFill = 0;
        if (chunks.size() > 1 && !framing) {
          startFraming();
        }
      }
      int m = Math.min(left, lastCap - lastFill);
      source.copyTo(last, lastFill, m);
      if (framing) {
        frame(last, lastFill, m);
      }
      lastFill += m;
      length += m;
      left -= m;
      if (complete >= 0) {
        return true; // the rest of the input is past the reply
      }
    }
    if (!framing) {
      tryDecode();
    }
    return complete >= 0;
  }

  /** The reply decoded by the fast attempt, or null: decode {@link #bytes()} then. */
  public ExportReply decoded() {
    return decoded;
  }

  /** The complete reply's bytes, {@code bytes()[0, length())}; joins the pieces the first time. */
  public byte[] bytes() {
    if (complete < 0) {
      throw new IllegalStateException("the reply is not complete");
    }
    if (recycled) {
      throw new IllegalStateException("the reply's bytes were reused once decoded: use decoded()");
    }
    if (chunks.size() == 1) {
      return chunks.get(0);
    }
    if (joined == null) {
      budget.forceReserve(complete);
      reserved += complete;
      joined = new byte[complete];
      int off = 0;
      for (int i = 0; i < chunks.size(); i++) {
        byte[] c = chunks.get(i);
        // A pooled first piece may be longer than the part of it in use.
        int m = Math.min(i == 0 ? firstChunkBytes : c.length, complete - off);
        System.arraycopy(c, 0, joined, off, m);
        off += m;
        if (off == complete) {
          break;
        }
      }
      chunks.clear();
      chunks.add(joined);
    }
    return joined;
  }

  /** Bytes of the complete reply. */
  public int length() {
    return complete;
  }

  /** Gives the reservation back and drops the bytes; the buffer is unusable afterwards. */
  public void release() {
    long r = reserved;
    reserved = 0;
    chunks.clear();
    joined = null;
    budget.release(r);
  }

  private void startFraming() throws ControlException {
    framing = true;
    // A second piece is only added when the first is full; the framer has not seen those bytes yet.
    frame(chunks.get(0), 0, firstChunkBytes);
  }

  private void frame(byte[] buf, int off, int n) throws ControlException {
    if (complete >= 0 || n == 0) {
      return;
    }
    int end;
    try {
      end = framer.feed(buf, off, n);
    } catch (RunscJsonException e) {
      throw new ControlException(ControlException.Kind.MALFORMED_REPLY, socket,
          "the reply is not a JSON object: " + UntrustedText.forLog(e.getMessage()), e);
    }
    if (end >= 0) {
      complete = framed + (end - off);
    }
    framed += n;
  }

  /** While the reply is in the first piece: one attempt to decode it whole when it may be complete. */
  private void tryDecode() throws ControlException {
    byte[] bytes = chunks.get(0);
    int first = 0;
    while (first < length && isBlank(bytes[first])) {
      first++;
    }
    if (first == length) {
      return;
    }
    if (bytes[first] != '{') {
      framing = true;
      frame(bytes, 0, length); // for the framer's error
      return;
    }
    int last = length - 1;
    while (isBlank(bytes[last])) {
      last--;
    }
    if (bytes[last] != '}') {
      return;
    }
    ExportReply reply = RunscJson.readCompleteExportReplyOrNull(bytes, 0, length, policy);
    if (reply != null) {
      decoded = reply;
      complete = length;
      if (recycle) {
        // The decoded reply holds no reference to these bytes (strings and cached spans are copies).
        recycled = true;
        chunks.clear();
        give(bytes);
      }
      return;
    }
    framing = true;
    frame(bytes, 0, length);
  }

  /** The smallest array of the thread's pool that holds {@code n} bytes, taken out of it; or null. */
  private static byte[] take(int n) {
    byte[][] pool = POOL.get();
    int best = -1;
    for (int i = 0; i < pool.length; i++) {
      byte[] a = pool[i];
      if (a != null && a.length >= n && (best < 0 || a.length < pool[best].length)) {
        best = i;
      }
    }
    if (best < 0) {
      return null;
    }
    byte[] a = pool[best];
    pool[best] = null;
    return a;
  }

  /**
   * Puts an array into the thread's pool: into a free slot, else in place of the largest one if it is
   * smaller (so the pool settles on the sizes in use); never an array above {@link #RETAIN_MAX_BYTES}.
   */
  private static void give(byte[] a) {
    if (a.length > RETAIN_MAX_BYTES) {
      return;
    }
    byte[][] pool = POOL.get();
    int largest = -1;
    for (int i = 0; i < pool.length; i++) {
      if (pool[i] == null) {
        pool[i] = a;
        return;
      }
      if (largest < 0 || pool[i].length > pool[largest].length) {
        largest = i;
      }
    }
    if (a.length < pool[largest].length) {
      pool[largest] = a;
    }
  }

  /** The lengths of the calling thread's pooled arrays (0 for an empty slot), for tests. */
  static int[] pooledLengths() {
    byte[][] pool = POOL.get();
    int[] lengths = new int[pool.length];
    for (int i = 0; i < pool.length; i++) {
      lengths[i] = pool[i] == null ? 0 : pool[i].length;
    }
    return lengths;
  }

  /** Empties the calling thread's pool, for tests. */
  static void clearPool() {
    java.util.Arrays.fill(POOL.get(), null);
  }

  private static boolean isBlank(byte b) {
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
  }

  private ControlException tooLarge() {
    return new ControlException(ControlException.Kind.REPLY_TOO_LARGE, socket,
        "the reply exceeds the maximum of " + max + " bytes (--max-reply-bytes)");
  }
}
