package dev.sandboxmetrics.posix;

import com.sun.jna.Native;

/**
 * {@code kill(2)} through JNA's direct mapping, for the metric server's liveness checks ({@link
 * Processes#isRunningOften}): it signals 0 to every served sandbox twice per scrape, as runsc does, and a
 * direct call costs about 1.5 µs on the test machine where {@link LibC}'s {@code Function} costs about 2.5
 * (argument conversion in Java and in JNA's native dispatch, around the same ~1.3 µs system call).
 *
 * <p>A class of its own, bound when first used: registering a native method costs ~25-45 ms of CPU once (JNA sets
 * up its type descriptions), which a long-running server recovers within a few hundred scrapes but a
 * one-shot {@code export-metrics} must not pay; {@link LibC}'s comment says why it binds no method this way.
 * No {@code errno} is captured: the check only asks whether the call succeeded.
 */
final class DirectKill {
  static {
    Native.register(DirectKill.class, LibC.library());
  }

  private DirectKill() {}

  /** {@code kill(pid, signal)}: 0 on success, -1 on failure. */
  static native int kill(int pid, int signal);
}
