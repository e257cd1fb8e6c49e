package dev.sandboxmetrics.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Everything one test class started, stopped in reverse order by {@link #close()}. A JVM shutdown hook
 * does the same if the test JVM is stopped before {@code @AfterAll} runs, so no Prometheus or server
 * outlives the build.
 */
final class ChildProcesses implements AutoCloseable {
  private final Path logDir;
  private final Deque<ChildProcess> started = new ArrayDeque<>();
  private final Thread shutdownHook = new Thread(this::stopAll, "e2e-child-processes");

  ChildProcesses(Path logDir) {
    this.logDir = logDir;
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  synchronized ChildProcess start(String name, List<String> command) throws IOException {
    ChildProcess child = ChildProcess.start(name, command, logDir);
    started.push(child);
    return child;
  }

  /** The end of every child's log, for a failure message. */
  synchronized String logs() {
    StringBuilder all = new StringBuilder();
    for (ChildProcess child : started) {
      all.append("\n----- ").append(child).append(child.isAlive() ? "" : " (exited)").append(" -----\n");
      all.append(child.logTail()).append('\n');
    }
    return all.toString();
  }

  private synchronized void stopAll() {
    while (!started.isEmpty()) {
      started.pop().close();
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // Already shutting down: the hook is running or has run.
    }
  }
}
