package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.posix.Processes;
import java.io.IOException;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * The real process whose PID a simulated sandbox's state file names, so that a metric server checking
 * liveness with signal 0 gets an honest answer: it lives exactly as long as the sandbox. It is a {@code cat}
 * waiting for input that never comes, costs about 100 KB, and is started and reaped by the simulator's
 * {@link HolderHost}, so that it also ends when the JVM does.
 */
final class Holder {
  private static final long GONE_DEADLINE_NANOS = 10_000_000_000L;
  /** How often SIGTERM is sent again to a holder that is still there (see {@link #stop}). */
  private static final long RESEND_TERM_NANOS = 50_000_000L;
  /** When {@link #stop} gives up on SIGTERM and sends SIGKILL. */
  private static final long KILL_AFTER_NANOS = 2_000_000_000L;

  private final long pid;
  private final Optional<ProcessHandle> handle;

  private Holder(long pid) {
    this.pid = pid;
    // The handle remembers the process's start time, so we never signal a recycled PID.
    this.handle = ProcessHandle.of(pid);
  }

  static Holder start(HolderHost host, String sandboxId) throws IOException {
    Holder h = new Holder(host.spawn(sandboxId));
    if (h.handle.isEmpty()) {
      throw new IOException("holder process " + h.pid + " of sandbox " + sandboxId + " died at once");
    }
    return h;
  }

  long pid() {
    return pid;
  }

  boolean isAlive() {
    return handle.map(ProcessHandle::isAlive).orElse(false);
  }

  /** Sends SIGTERM without waiting, so that many holders can end at once; {@link #stop} then waits. */
  void signalStop() {
    handle.ifPresent(ProcessHandle::destroy);
  }

  /**
   * SIGTERM, and wait until the PID is gone (reaped by the host, not a zombie answering signal 0). SIGTERM
   * is sent again while the holder lives: a holder signalled right after it was spawned may not yet have
   * reset the host's inherited "ignore SIGTERM" (its subshell runs {@code trap - TERM} first), and would
   * miss a single signal.
   */
  void stop() {
    signalStop();
    awaitGone(true);
  }

  /** SIGKILL, and wait until the PID is gone. */
  void kill() {
    handle.ifPresent(ProcessHandle::destroyForcibly);
    awaitGone(false);
  }

  private void awaitGone(boolean resendTerm) {
    long start = System.nanoTime();
    long deadline = start + GONE_DEADLINE_NANOS;
    long nextTerm = start + RESEND_TERM_NANOS;
    while (Processes.isRunning(pid)) {
      long now = System.nanoTime();
      if (resendTerm && now > nextTerm) {
        if (now - start > KILL_AFTER_NANOS) {
          handle.ifPresent(ProcessHandle::destroyForcibly); // whatever kept it from ending on SIGTERM
        } else {
          signalStop();
        }
        nextTerm = now + RESEND_TERM_NANOS;
      }
      if (now > deadline) {
        LoggerFactory.getLogger(Holder.class).warn("holder process {} is still there after 10 s", pid);
        return;
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
