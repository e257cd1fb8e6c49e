package dev.sandboxmetrics.posix;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * Signal dispositions the JVM will not change for us. A process started with SIGINT or SIGTERM ignored
 * (a shell's background job, {@code trap '' INT}, {@code nohup}-like wrappers) keeps it ignored under
 * HotSpot: {@code sun.misc.Signal.handle} quietly installs nothing for a shutdown signal whose inherited
 * disposition is SIG_IGN. Go's {@code signal.Notify}, which runsc's metric server uses, re-enables it.
 * Called by the metric server's {@code ShutdownSignals} before it installs its handlers.
 */
public final class Signals {
  public static final int SIGINT = 2;
  public static final int SIGTERM = 15;

  private static final long SIG_IGN = 1;

  /** More than {@code struct sigaction} takes on any Linux ABI (152 bytes on x86-64 and arm64). */
  private static final int SIGACTION_BYTES = 256;

  private Signals() {}

  /**
   * Sets {@code signal} back to its default disposition when it is ignored, so that a handler can then be
   * installed; returns whether it was ignored. The handler (the first field of {@code struct sigaction} on
   * Linux) is only read, never replaced, when the signal is not ignored.
   */
  public static boolean stopIgnoring(int signal) throws LastErrorException {
    Function sigaction = LibC.function("sigaction");
    try (Memory old = new Memory(SIGACTION_BYTES)) {
      old.clear();
      sigaction.invokeInt(new Object[] {signal, null, old});
      if (Pointer.nativeValue(old.getPointer(0)) != SIG_IGN) {
        return false;
      }
    }
    // SIG_DFL is the null handler. Between this call and the caller's handler a signal would end the
    // process unhandled; the caller installs its handler right after, at start-up.
    LibC.function("signal").invokePointer(new Object[] {signal, null});
    return true;
  }
}
