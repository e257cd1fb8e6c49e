package dev.sandboxmetrics.posix;

/**
 * Starts JNA and binds the libc functions of this module now, on the calling thread, rather than on the
 * first call that needs them. JNA's start is the largest single step of a one-shot {@code export-metrics}
 * (~40 ms of CPU on the test machine: {@code java.util.logging}, which JNA's classes set up, and JNA's own
 * class initialization), so the CLI calls this on a second core at the top of {@code main} while the main
 * thread parses the command line and finds the state file (README, "Start-up of export-metrics").
 */
public final class NativeStart {
  private NativeStart() {}

  /**
   * Initializes JNA and binds libc's functions, then makes one call, so that the first real call finds
   * JNA's call path ready. Does nothing more once done. Throws what the first use of this module would
   * throw when JNA cannot start (e.g. {@link UnsatisfiedLinkError} without a native part for this platform);
   * after such a failure every later use fails too ({@link NoClassDefFoundError}).
   */
  public static void run() {
    LibC.getpid();
  }
}
