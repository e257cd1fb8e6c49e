package dev.sandboxmetrics.simulator;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The real process whose PID a simulated sandbox's state file names, so that a metric server checking
 * liveness with signal 0 gets an honest answer. It is a {@code cat} reading a pipe from this JVM and writing
 * nowhere: it costs about a megabyte, does nothing, and exits by itself on end of file if the JVM dies, so a
 * crashed test leaves nothing running. The JVM reaps it, so a killed holder's PID is really gone (no zombie
 * answering signal 0).
 */
final class Holder {
  private final Process process;

  private Holder(Process process) {
    this.process = process;
  }

  static Holder start() throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder("cat")
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      return new Holder(pb.start());
    } catch (IOException e) {
      throw new IOException("cannot start the holder process (cat) of a simulated sandbox: " + e.getMessage(), e);
    }
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Sends SIGTERM without waiting, so that many holders can end at once; {@link #stop} then reaps. */
  void signalStop() {
    process.destroy();
  }

  /** Ends the process the polite way (SIGTERM) and waits until it is reaped. */
  void stop() {
    process.destroy();
    awaitExit();
  }

  /** SIGKILL, and wait until it is reaped. */
  void kill() {
    process.destroyForcibly();
    awaitExit();
  }

  private void awaitExit() {
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // The pipe is gone with the process.
    }
  }
}
