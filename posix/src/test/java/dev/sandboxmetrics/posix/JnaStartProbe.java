package dev.sandboxmetrics.posix;

/**
 * Run in a fresh JVM by {@link NativeDispatchTest}: uses libc once, then prints where JNA found its native
 * part and which library directories it was given.
 */
public final class JnaStartProbe {
  private JnaStartProbe() {}

  public static void main(String[] args) {
    if (!Processes.isRunning(Processes.currentPid())) {
      throw new AssertionError("this process should be running");
    }
    System.out.println(System.getProperty("jnidispatch.path"));
    System.out.println(System.getProperty("jna.platform.library.path"));
  }
}
