package dev.sandboxmetrics.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A program the tests run in the background (the metric server, the simulator, Prometheus, socat), with
 * its output in a log file that failure messages quote. {@link #close()} always ends it and its children:
 * first SIGTERM (the server's graceful shutdown), then SIGKILL, each wait bounded.
 */
final class ChildProcess implements AutoCloseable {
  private static final long TERM_WAIT_SECONDS = 10;
  private static final long KILL_WAIT_SECONDS = 5;

  private final String name;
  private final Process process;
  private final Path log;

  private ChildProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code command} with stdin from /dev/null and stdout and stderr into {@code logDir/name.log}.
   */
  static ChildProcess start(String name, List<String> command, Path logDir) throws IOException {
    Path log = logDir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Process process = builder.start();
    return new ChildProcess(name, process, log);
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** @throws AssertionError with the end of the log when the process has exited */
  void assertAlive() {
    if (!process.isAlive()) {
      throw new AssertionError(name + " exited with status " + process.exitValue() + "; its output:\n" + logTail());
    }
  }

  /** The last lines of the output, for failure messages. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      int from = Math.max(0, lines.size() - 40);
      return String.join("\n", lines.subList(from, lines.size()));
    } catch (IOException | java.io.UncheckedIOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  @Override
  public void close() {
    List<ProcessHandle> family = new ArrayList<>();
    process.toHandle().descendants().forEach(family::add);
    family.add(process.toHandle());
    family.forEach(ProcessHandle::destroy);
    if (!waitForExit(family, TERM_WAIT_SECONDS)) {
      family.forEach(ProcessHandle::destroyForcibly);
      waitForExit(family, KILL_WAIT_SECONDS);
    }
  }

  private static boolean waitForExit(List<ProcessHandle> handles, long seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (ProcessHandle handle : handles) {
      long left = deadline - System.nanoTime();
      try {
        handle.onExit().get(Math.max(0, left), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        return false;
      } catch (java.util.concurrent.ExecutionException e) {
        // onExit never completes exceptionally; treat it as gone.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ")";
  }
}
