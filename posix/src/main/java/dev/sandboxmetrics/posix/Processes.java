package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;

/** Process checks as runsc does them. */
public final class Processes {
  private Processes() {}

  /**
   * runsc's liveness check: signal 0 to the PID succeeds. Like runsc, a process we may not signal (EPERM)
   * counts as not running, and so does a PID of zero or less (signal 0 to those would address process
   * groups, not a process).
   */
  public static boolean isRunning(long pid) {
    if (pid <= 0 || pid > Integer.MAX_VALUE) {
      return false;
    }
    try {
      return LibC.kill((int) pid, 0) == 0;
    } catch (LastErrorException e) {
      return false;
    }
  }

  /** This JVM's PID. */
  public static long currentPid() {
    return ProcessHandle.current().pid();
  }
}
