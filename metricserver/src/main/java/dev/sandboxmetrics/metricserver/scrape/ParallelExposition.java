package dev.sandboxmetrics.metricserver.scrape;

import dev.sandboxmetrics.metricserver.http.ParallelGzip;
import dev.sandboxmetrics.snapshot.text.SlicedExposition;
import dev.sandboxmetrics.snapshot.text.WriteReport;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Renders one {@code /metrics} body slice by slice on the worker executor, each slice deflated as a part of
 * one gzip stream ({@link ParallelGzip}; or kept as text when the client did not ask for gzip), and writes
 * the slices to the response in order. A large body is thus rendered and compressed on every core, where
 * before one thread rendered it and the event loop compressed it. A body of one slice is rendered by the
 * calling thread alone.
 *
 * <p>The thread that calls {@link #write} (a worker) renders too: it takes the next slice not yet taken
 * whenever the slice it must send next is still being rendered elsewhere, and waits only when every slice
 * of the window is taken. So a busy executor makes the body slower, never stuck: no slice waits for a thread
 * that is not coming. At most {@code window} slices are rendered ahead of the one being sent, which bounds
 * the memory of one response to about {@code window} slices; what the client has not taken yet is bounded
 * by the server's response budget, as for every streamed response. One slice's failure fails the response
 * ({@link #write} throws); slices not yet started are then skipped.
 *
 * <p>With gzip, each slice's deflater is primed with the end of the text of the slice before it
 * ({@link ParallelGzip.Part#tail}), so the body compresses as well as one stream: a slice renders its text,
 * publishes its tail, then takes the tail of the slice before it, waiting for it when another thread is
 * rendering that slice (never long: slices are claimed in order and take about as long to render, and
 * rendering waits for nothing, so this wait cannot close a cycle). When that slice is not claimed yet (a
 * worker ran ahead, or the executor refused it), the slice starts with an empty window instead: a few
 * KB larger, still valid.
 *
 * <p>Used by {@link MetricsEndpoint}; one instance per response.
 */
final class ParallelExposition {
  private final SlicedExposition exposition;
  private final Executor work;
  private final int window;
  private final ParallelGzip gzip;
  private final AtomicBoolean abandoned = new AtomicBoolean();
  private final Slice[] slices;

  /**
   * @param gzip compresses the slices as parts of one gzip stream; null to send the text as it is
   * @param window most slices rendered ahead of the one being sent (at least 1)
   */
  ParallelExposition(SlicedExposition exposition, Executor work, int window, ParallelGzip gzip) {
    this.exposition = exposition;
    this.work = work;
    this.window = Math.max(1, window);
    this.gzip = gzip;
    this.slices = new Slice[exposition.sliceCount()];
  }

  /** Writes every slice to {@code out} in order; returns the reports of all slices as one. */
  WriteReport write(OutputStream out) throws IOException {
    int n = slices.length;
    long bytes = 0;
    List<String> dropped = new ArrayList<>();
    int started = 0;
    int crc = 0;
    long length = 0;
    if (gzip != null) {
      out.write(ParallelGzip.HEADER);
    }
    try {
      for (int next = 0; next < n; next++) {
        // Keep the window full: slices [next, next + window) are offered to the other workers.
        while (started < n && started < next + window) {
          // Only gzip needs the slice before (its tail); plain slices must not hold on to each other.
          Slice s = new Slice(started, gzip == null || started == 0 ? null : slices[started - 1]);
          slices[started++] = s;
          if (s.index > next) {
            offer(s);
          }
        }
        Slice s = slices[next];
        while (!s.isDone()) {
          Slice other = s.claim() ? s : firstUnclaimed(next + 1, started);
          if (other == null) {
            s.await();
          } else {
            other.render();
          }
        }
        slices[next] = null;
        if (s.failure != null) {
          throw s.failure instanceof IOException io ? io : new IOException("rendering slice " + next + " failed", s.failure);
        }
        if (s.deflated != null) {
          out.write(s.deflated.bytes(), 0, s.deflated.length());
          gzip.recycle(s.deflated);
          s.deflated = null;
        } else {
          out.write(s.text.bytes, 0, s.text.length);
          Text.giveBack(s.text);
          s.text = null; // the slice after may still refer to this one until it has its tail
        }
        if (gzip != null) {
          crc = ParallelGzip.combineCrc(crc, s.crc, s.report.bytesWritten());
          length += s.report.bytesWritten();
        }
        bytes += s.report.bytesWritten();
        dropped.addAll(s.report.droppedDataPoints());
      }
      if (gzip != null) {
        out.write(ParallelGzip.trailer(crc, length));
      }
    } finally {
      // On failure (a slice, or the client going away): the slices still queued need not be rendered.
      abandoned.set(true);
    }
    return new WriteReport(bytes, dropped);
  }

  private void offer(Slice s) {
    try {
      work.execute(() -> {
        if (!abandoned.get() && s.claim()) {
          s.render();
        }
      });
    } catch (RejectedExecutionException e) {
      // Shutting down or flooded: the writing thread renders it itself.
    }
  }

  private Slice firstUnclaimed(int from, int to) {
    for (int i = from; i < to; i++) {
      Slice s = slices[i];
      if (s != null && s.claim()) {
        return s;
      }
    }
    return null;
  }

  /**
   * One slice: claimed by exactly one thread, which renders it and publishes the result through the
   * latches ({@link #rendered} when its text and tail are there, {@link #done} when its output is).
   */
  private final class Slice {
    final int index;
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final CountDownLatch rendered = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    /** The slice before this one, until its tail is taken (then null, so that slices sent can go). */
    private Slice previous;
    /** Set before {@link #rendered} counts down; read after; null when rendering failed. */
    private ParallelGzip.Dictionary tail;
    /** Set before {@link #done} counts down (one of the two, as gzip or not); read after. */
    ParallelGzip.Output deflated;
    Text text;
    WriteReport report;
    int crc;
    Throwable failure;

    Slice(int index, Slice previous) {
      this.index = index;
      this.previous = previous;
    }

    boolean claim() {
      return claimed.compareAndSet(false, true);
    }

    boolean isDone() {
      return done.getCount() == 0;
    }

    void await() throws IOException {
      try {
        done.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while rendering /metrics", e);
      }
    }

    /** Called by the one thread that claimed it. */
    void render() {
      try {
        if (gzip == null) {
          Text t = Text.take();
          report = exposition.writeSlice(index, t);
          text = t;
        } else {
          try (ParallelGzip.Part part = gzip.start()) {
            try {
              report = exposition.writeSlice(index, part);
              // The last slice has nobody to prime.
              tail = index == slices.length - 1 ? null : part.dictionary();
            } finally {
              rendered.countDown();
            }
            crc = part.crc();
            deflated = part.finish(index == slices.length - 1, previousTail());
          }
        }
      } catch (Throwable t) {
        failure = t;
      } finally {
        rendered.countDown();
        done.countDown();
      }
    }

    /** The tail of the slice before this one, once rendered; null for the first, or when it is not claimed. */
    private ParallelGzip.Dictionary previousTail() {
      Slice p = previous;
      previous = null;
      if (p == null || !p.claimed.get()) {
        // Not claimed, so possibly not rendered for a while: waiting for it could wait for ourselves.
        return null;
      }
      try {
        p.rendered.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
      return p.tail;
    }
  }

  /**
   * The text of one plain slice, collected in one array until its turn to be sent. The arrays are pooled
   * across slices and scrapes: a copy of every piece the renderer handed over was as much garbage as the
   * body itself (3.7 MB per scrape of 100 sandboxes). At most {@link #POOLED} are kept (a response has
   * about that many slices in flight; more at once make their own), none that grew beyond
   * {@link #KEEP_AT_MOST}; one not given back (a failed response) is collected.
   */
  static final class Text extends OutputStream {
    static final int POOLED = 4;
    private static final int INITIAL = 160 * 1024;
    private static final int KEEP_AT_MOST = 1024 * 1024;
    private static final ArrayBlockingQueue<Text> POOL = new ArrayBlockingQueue<>(POOLED);

    byte[] bytes = new byte[INITIAL];
    int length;

    static Text take() {
      Text t = POOL.poll();
      return t != null ? t : new Text();
    }

    static void giveBack(Text t) {
      t.length = 0;
      if (t.bytes.length <= KEEP_AT_MOST) {
        POOL.offer(t);
      }
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (bytes.length - length < len) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length + bytes.length / 2, Math.addExact(length, len)));
      }
      System.arraycopy(b, off, bytes, length, len);
      length += len;
    }
  }
}
