package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 1, the connection side, against the packaged server in its own process under
 * {@code ulimit -n 256}: 300 idle connections must not take the descriptors the server needs for its root
 * directory and the sandboxes' sockets. With default settings the server serves at most half its descriptor
 * limit in connections, closing the longest-idle ones, so scrapes keep working (and the periodic rescan never
 * meets EMFILE) while the connections are held.
 */
@Timeout(180)
class ConnectionLimitIT {
  private static final int SANDBOXES = 5;
  private static final int FD_LIMIT = 256;
  private static final int IDLE_CONNECTIONS = 300;
  private static final Duration LIMIT = Duration.ofSeconds(60);
  private static final Pattern SANDBOX = Pattern.compile("^runsc_meta_sandbox_running\\{.*sandbox=\"([^\"]+)\".*} 1 ", Pattern.MULTILINE);

  @TempDir Path tmp;

  @Test
  void idleConnectionsBeyondTheDescriptorLimitDoNotStopTheServer() throws Exception {
    SandboxMetricsJar jar = SandboxMetricsJar.locate();
    Path root = Files.createDirectory(tmp.resolve("root"));
    String address = "127.0.0.1:" + FreePort.onLoopback();
    List<SocketChannel> idle = new ArrayList<>();
    try (ChildProcesses processes = new ChildProcesses(tmp)) {
      processes.start("simulator", jar.command("--root=" + root, "--metric-server=" + address, "simulate",
          "--sandboxes", String.valueOf(SANDBOXES)));
      List<String> server = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + FD_LIMIT + " && exec \"$@\"", "bash"));
      server.addAll(jar.command("--root=" + root, "--metric-server=" + address, "metric-server", "--rescan-interval", "1s"));
      ChildProcess child = processes.start("server", server);
      Map<String, StateFiles.Sandbox> sandboxes = Await.until(SANDBOXES + " simulated sandboxes", LIMIT,
          () -> StateFiles.sandboxesFor(root, address), found -> found.size() == SANDBOXES, processes::logs);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      URI metrics = URI.create("http://" + address + "/metrics");
      Await.until("the server exports every sandbox", LIMIT, () -> running(http, metrics),
          found -> found.size() == SANDBOXES, processes::logs);

      InetSocketAddress target = new InetSocketAddress("127.0.0.1", Integer.parseInt(address.split(":")[1]));
      for (int i = 0; i < IDLE_CONNECTIONS; i++) {
        idle.add(SocketChannel.open(target));
      }
      // Held for several rescans (every second): every scrape meanwhile has every sandbox.
      long rescansFrom = System.nanoTime();
      int scrapes = 0;
      while (System.nanoTime() - rescansFrom < Duration.ofSeconds(4).toNanos()) {
        assertThat(running(http, metrics)).as(processes.logs()).hasSize(SANDBOXES);
        scrapes++;
      }
      assertThat(scrapes).isPositive();
      child.assertAlive();
      assertThat(openFiles(child.pid())).as("descriptors the server holds").isLessThan(FD_LIMIT);
      assertThat(sandboxes).hasSize(SANDBOXES);
      String log = Files.readString(tmp.resolve("server.log"));
      assertThat(log).contains("Serving at most 128 connections");
    } finally {
      for (SocketChannel c : idle) {
        c.close();
      }
    }
  }

  private static List<String> running(HttpClient http, URI metrics) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    List<String> ids = new ArrayList<>();
    if (r.statusCode() != 200) {
      return ids;
    }
    Matcher m = SANDBOX.matcher(r.body());
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  private static long openFiles(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return fds.count();
    }
  }
}
