package dev.sandboxmetrics.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged {@code ./sandbox-metrics} run as a separate process, for the integration tests: its output
 * lines are collected as they come, and plain HTTP/1.0 requests can be sent to it over TCP or a Unix socket.
 */
final class Launched implements AutoCloseable {
  final Process process;
  final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
  final List<String> stderr = Collections.synchronizedList(new ArrayList<>());

  /** The threads collecting stdout and stderr; they end at the streams' end. */
  private final List<Thread> drains;

  private Launched(Process process) {
    this.process = process;
    this.drains = List.of(drain(process.getInputStream(), stdout), drain(process.getErrorStream(), stderr));
  }

  static Launched start(String... args) throws IOException {
    return startIn(Map.of(), List.of(), args);
  }

  /** {@link #start} with extra environment variables (e.g. {@code SANDBOX_METRICS_JAVA_OPTS}). */
  static Launched startWithEnv(Map<String, String> env, String... args) throws IOException {
    return startIn(env, List.of(), args);
  }

  /**
   * Starts the launcher from a bash script, {@code script} being what runs it: {@code "$0" "$@"} stands
   * for the launcher and the arguments (e.g. {@code trap '' INT; exec "$0" "$@"}).
   */
  static Launched startFromBash(String script, String... args) throws IOException {
    return startIn(Map.of(), List.of("bash", "-c", script), args);
  }

  private static Launched startIn(Map<String, String> env, List<String> prefix, String... args) throws IOException {
    Path launcher = Path.of(System.getProperty("sandboxmetrics.repo.root", ".")).resolve("sandbox-metrics");
    List<String> command = new ArrayList<>(prefix);
    command.add(launcher.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("SANDBOX_METRICS_NO_BUILD", "1");
    pb.environment().putAll(env);
    return new Launched(pb.start());
  }

  /**
   * Waits for the process to end and returns its exit code, once its stdout and stderr lines have all been
   * collected (the process can end before the collecting threads have read its last lines).
   */
  int exitCode(Duration within) throws InterruptedException {
    if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("still running after " + within + "; stderr: " + stderr);
    }
    for (Thread drain : drains) {
      drain.join(within.toMillis()); // bounded: a child left behind could hold the stream open
    }
    return process.exitValue();
  }

  /** Waits until a stdout line contains {@code text}; returns that line. */
  String awaitStdout(String text, Duration within) throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < end) {
      synchronized (stdout) {
        for (String l : stdout) {
          if (l.contains(text)) {
            return l;
          }
        }
      }
      if (!process.isAlive()) {
        break;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no stdout line with \"" + text + "\"; stdout: " + stdout + "; stderr: " + stderr);
  }

  /**
   * Waits until a file exists and is not empty (the PID file, written once the server listens: it is
   * created empty, then written).
   */
  void awaitFile(Path file, Duration within) throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (!nonEmpty(file)) {
      if (System.nanoTime() > end || !process.isAlive()) {
        throw new AssertionError(file + " did not appear; stderr: " + stderr);
      }
      Thread.sleep(50);
    }
  }

  private static boolean nonEmpty(Path file) {
    try {
      return Files.size(file) > 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGTERM, as systemd or kubelet would stop it. */
  void terminate() {
    process.destroy();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }

  /** One HTTP/1.0 GET; returns the status line, headers and body as text. */
  static String get(SocketAddress address, String target) throws IOException {
    try (SocketChannel ch = address instanceof UnixDomainSocketAddress
        ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
      ch.connect(address);
      ch.write(ByteBuffer.wrap(("GET " + target + " HTTP/1.0\r\nHost: it\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
      return new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  static int status(String response) {
    return Integer.parseInt(response.split(" ", 3)[1]);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Thread drain(java.io.InputStream in, List<String> lines) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String l;
        while ((l = r.readLine()) != null) {
          lines.add(l);
        }
      } catch (IOException e) {
        // The process ended.
      }
    });
    t.setDaemon(true);
    t.start();
    return t;
  }
}
