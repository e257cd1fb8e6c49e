package dev.sandboxmetrics.simulator.urpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One selector thread serving the listening sockets and connections assigned to it. Everything about a
 * channel happens on its loop's thread; other threads hand work over with {@link #submit}. Delays (the
 * slow-reply fault) are timers run by the loop itself, so that a thousand stalled or slow sandboxes cost no
 * threads.
 */
final class EventLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);

  private final Selector selector;
  private final Thread thread;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private long timerSequence;
  private volatile boolean closing;
  private volatile boolean terminated;

  EventLoop(String name) {
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open a selector", e);
    }
    thread = new Thread(this, name);
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  Selector selector() {
    return selector;
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /** Runs {@code work} on the loop thread and returns its result to the caller's thread. */
  <T> CompletableFuture<T> submit(Supplier<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Runnable task =
        () -> {
          try {
            result.complete(work.get());
          } catch (RuntimeException | Error e) {
            result.completeExceptionally(e);
          }
        };
    if (inLoop()) {
      task.run();
    } else if (closing) {
      result.completeExceptionally(new IllegalStateException("control server closed"));
    } else {
      tasks.add(task);
      selector.wakeup();
      if (terminated) {
        // The loop is gone; nobody else will run what we just queued.
        runTasks();
      }
    }
    return result;
  }

  /** Runs {@code task} on the loop thread after {@code delayNanos}. Loop thread only. */
  void schedule(long delayNanos, Runnable task) {
    timers.add(new Timer(System.nanoTime() + delayNanos, timerSequence++, task));
  }

  /** Stops the loop after closing every channel registered with it, and waits for the thread to end. */
  void close() {
    if (closing) {
      return;
    }
    closing = true;
    selector.wakeup();
    if (!inLoop()) {
      try {
        thread.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void run() {
    try {
      while (!closing) {
        long timeoutMillis = runDueTimers();
        if (timeoutMillis < 0) {
          selector.select();
        } else if (timeoutMillis == 0) {
          selector.selectNow();
        } else {
          selector.select(timeoutMillis);
        }
        runTasks();
        for (SelectionKey key : selector.selectedKeys()) {
          dispatch(key);
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | ClosedSelectorException e) {
      log.error("control socket event loop {} failed", thread.getName(), e);
    } finally {
      shutdown();
    }
  }

  private void dispatch(SelectionKey key) {
    Object attachment = key.attachment();
    try {
      if (!key.isValid()) {
        return;
      }
      if (attachment instanceof Binding) {
        ((Binding) attachment).onAcceptable();
      } else if (attachment instanceof Connection) {
        ((Connection) attachment).onReady(key.readyOps());
      }
    } catch (RuntimeException e) {
      // A bug in one sandbox's handling must not take down every sandbox on this loop.
      log.error("control socket handler failed; closing that channel", e);
      if (attachment instanceof Connection) {
        ((Connection) attachment).close();
      }
    }
  }

  private void runTasks() {
    Runnable task;
    while ((task = tasks.poll()) != null) {
      task.run();
    }
  }

  /** Runs the timers that are due; returns the wait until the next one in ms, -1 when there is none. */
  private long runDueTimers() {
    while (!timers.isEmpty()) {
      Timer next = timers.peek();
      long wait = next.deadline - System.nanoTime();
      if (wait > 0) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait + 999_999));
      }
      timers.poll();
      try {
        next.task.run();
      } catch (RuntimeException e) {
        log.error("control socket timer failed", e);
      }
    }
    return tasks.isEmpty() ? -1 : 0;
  }

  private void shutdown() {
    runTasks();
    for (SelectionKey key : selector.keys()) {
      Object attachment = key.attachment();
      if (attachment instanceof Binding) {
        ((Binding) attachment).closeOnLoop();
      }
    }
    timers.clear();
    try {
      selector.close();
    } catch (IOException e) {
      log.debug("closing selector", e);
    }
    // Tasks submitted while we were stopping would otherwise wait forever; from now on submit() runs
    // them itself.
    terminated = true;
    runTasks();
  }

  private static final class Timer implements Comparable<Timer> {
    final long deadline;
    final long sequence;
    final Runnable task;

    Timer(long deadline, long sequence, Runnable task) {
      this.deadline = deadline;
      this.sequence = sequence;
      this.task = task;
    }

    @Override
    public int compareTo(Timer o) {
      int c = Long.compare(deadline - o.deadline, 0);
      return c != 0 ? c : Long.compare(sequence, o.sequence);
    }
  }
}
