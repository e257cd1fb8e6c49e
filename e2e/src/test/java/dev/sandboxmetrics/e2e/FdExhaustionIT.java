package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The packaged server under a small file descriptor limit ({@code ulimit -n 64}), run out of descriptors
 * while it rescans its root directory: a listing that fails with EMFILE is a passing problem, not "the root
 * directory is gone", so the server stays up, keeps its sandbox, and serves again once descriptors are free.
 * Only a root directory that really disappears shuts it down, with exit status 0 as runsc.
 *
 * <p>Idle client connections alone cannot exhaust the server's descriptors (it serves at most half its
 * limit in connections), so the descriptors run out the way they could on a node: a scrape holds a
 * connection to each of 40 sandboxes that never answer, next to as many idle clients as the server admits.
 */
@Timeout(300)
class FdExhaustionIT {
  private static final Duration LIMIT = Duration.ofSeconds(90);
  private static final int FD_LIMIT = 64;
  private static final int CONNECTIONS = 2 * FD_LIMIT;
  private static final int STALLED = 40;

  @Test
  void runningOutOfFileDescriptorsIsNotARootDirectoryThatIsGone() throws Exception {
    SandboxMetricsJar jar = SandboxMetricsJar.locate();
    Path work = Files.createTempDirectory("sandbox-metrics-fd-");
    Path root = Files.createDirectory(work.resolve("root"));
    int port = FreePort.onLoopback();
    String address = "127.0.0.1:" + port;
    Path serverLog = work.resolve("server.log");
    Process server = null;
    List<Socket> idle = new ArrayList<>();
    try (ChildProcesses processes = new ChildProcesses(work)) {
      ChildProcess simulator = processes.start("simulator", jar.command("--root=" + root, "--metric-server=" + address,
          "simulate", "--sandboxes", "1", "--id-prefix", "fd-"));
      String sandbox = Await.until("the simulated sandbox is registered", LIMIT,
          () -> StateFiles.sandboxesFor(root, address), found -> found.size() == 1, processes::logs)
          .keySet().iterator().next();

      ChildProcess stalled = processes.start("stalled", jar.command("--root=" + root, "--metric-server=" + address,
          "simulate", "--sandboxes", String.valueOf(STALLED), "--id-prefix", "stall-", "--fault", "stall=" + STALLED));
      Await.until(STALLED + " stalled sandboxes are registered", LIMIT,
          () -> StateFiles.sandboxesFor(root, address), found -> found.size() == STALLED + 1, processes::logs);

      List<String> command = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + FD_LIMIT + " && exec \"$@\"", "bash"));
      command.addAll(jar.command("--root=" + root, "--metric-server=" + address, "metric-server",
          "--rescan-interval=100ms", "--sandbox-timeout=3s"));
      server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(serverLog.toFile()).start();
      Process running = server;
      String log = "\nserver log:\n";

      Await.until("the server exports sandbox " + sandbox, LIMIT, () -> get(port, "/metrics"),
          text -> text.contains("sandbox=\"" + sandbox + "\""), () -> log + read(serverLog));

      // Idle connections up to the server's cap, and scrapes that each hold a connection to every stalled
      // sandbox for the sandbox timeout, until the server has no descriptor left while it rescans every 100 ms.
      for (int i = 0; i < CONNECTIONS; i++) {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        idle.add(s);
      }
      AtomicBoolean scraping = new AtomicBoolean(true);
      Thread scrapes = new Thread(() -> {
        while (scraping.get()) {
          try {
            get(port, "/metrics");
          } catch (IOException e) {
            // refused or cut off while the server is out of descriptors: try again
          }
        }
      }, "stalling-scrapes");
      scrapes.setDaemon(true);
      scrapes.start();
      Await.until("a rescan of the root directory fails for want of file descriptors", LIMIT,
          () -> read(serverLog), text -> text.contains("cannot list root directory") && text.contains("Too many open files"),
          () -> log + read(serverLog) + "\nserver alive: " + running.isAlive());
      assertThat(server.isAlive()).as("server alive while out of descriptors;" + log + read(serverLog)).isTrue();

      scraping.set(false);
      stalled.close();
      for (Socket s : idle) {
        s.close();
      }
      idle.clear();
      scrapes.join(TimeUnit.SECONDS.toMillis(30));
      String text = Await.until("the server exports sandbox " + sandbox + " again", LIMIT, () -> get(port, "/metrics"),
          t -> t.contains("sandbox=\"" + sandbox + "\""), () -> log + read(serverLog));
      // The sandbox was kept all along, not dropped and found again: the count is the 1 + 40 first found.
      assertThat(text).containsPattern("(?m)^runsc_meta_num_sandboxes_total " + (STALLED + 1) + "( |\r?$)");
      assertThat(server.isAlive()).isTrue();
      assertThat(read(serverLog)).doesNotContain("shutting down");

      // A root directory that really goes away ends the server, with exit status 0 as runsc.
      simulator.close();
      deleteRecursively(root);
      assertThat(server.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)).as("server exits;" + log + read(serverLog)).isTrue();
      assertThat(server.exitValue()).as(log + read(serverLog)).isZero();
      assertThat(read(serverLog)).contains("does not exist any more");
    } finally {
      for (Socket s : idle) {
        s.close();
      }
      if (server != null && server.isAlive()) {
        server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      deleteRecursively(work);
    }
  }

  /** A GET with a connection of its own, closed after the response; the body, or an exception. */
  private static String get(int port, String path) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(("GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      // HTTP/1.0: the body comes whole, without chunk markers in the middle of a line.
      if (!response.lines().findFirst().orElse("").contains(" 200 ")) {
        throw new IOException("not 200: " + response.lines().findFirst().orElse("(nothing)"));
      }
      return response;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
