package dev.sandboxmetrics.metricserver.server;

import static dev.sandboxmetrics.metricserver.testing.Scrapes.label;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.metaValue;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.sandboxesWithMeta;
import static dev.sandboxmetrics.metricserver.testing.Scrapes.samples;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.metricserver.testing.RawHttp;
import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The running server against a root directory that misbehaves: a lock held for ever, a root that stops
 * being a directory, and a periodic scan that throws an Error.
 */
@Timeout(120)
class MetricServerHostileRootTest {
  @TempDir Path tmp;

  @Test
  void newSandboxLockedPastTheSandboxTimeoutIsPresentAndNotRunning() throws Exception {
    Path root = tmp.resolve("root");
    try (Simulator sim = Simulator.start(root, "127.0.0.1:0")) {
      sim.createRunning(SandboxSpec.builder("good").build());
      SimulatedSandbox stuck = sim.createRunning(SandboxSpec.builder("stuck").podName("stuck-0").build());
      // A real flock(1) in another process holds the lock, as a runsc that hangs while creating the sandbox.
      Process holder = new ProcessBuilder("flock", "-o", "-x", stuck.lockFile().toString(), "sleep", "60").start();
      // Locked before the server starts: a first scan that read the state file before flock(1) took the lock
      // would serve the sandbox as running (seen once under load).
      awaitLocked(stuck.lockFile());
      try (MetricServer server = MetricServer.start(
          MetricServerOptions.of(root.toString(), "127.0.0.1:0").withSandboxTimeout(Duration.ofMillis(500)))) {
        String text = scrape(server);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // The stuck sandbox shows once its lock has been held past the timeout; on a loaded machine the good
        // one's query may also miss the short timeout once, so wait for a scrape that has both.
        while (!(sandboxesWithMeta(text, "sandbox_presence").contains("stuck")
                && "0".equals(metaValue(text, "num_sandboxes_broken_metrics")))
            && System.nanoTime() < deadline) {
          Thread.sleep(100);
          text = scrape(server);
        }
        assertThat(sandboxesWithMeta(text, "sandbox_presence")).containsExactly("good", "stuck");
        assertThat(meta(text, "sandbox_presence", "stuck")).isEqualTo("1");
        assertThat(meta(text, "sandbox_running", "stuck")).isEqualTo("0");
        assertThat(meta(text, "sandbox_running", "good")).isEqualTo("1");
        assertThat(label(text, "runsc_meta_sandbox_presence{iteration", "pod_name")).isEqualTo("stuck-0");
        assertThat(metaValue(text, "num_sandboxes_broken_metrics")).isEqualTo("0");
        assertThat(metaValue(text, "num_sandboxes_running")).isEqualTo("1");
      } finally {
        holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void rootThatIsNoLongerADirectoryShutsDownLikeAMissingOne() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    MetricServer server = MetricServer.start(
        MetricServerOptions.of(root.toString(), "127.0.0.1:0").withRescanInterval(Duration.ofMillis(100)));
    Files.delete(root);
    Files.writeString(root, "not a directory");
    assertThat(server.awaitTermination()).isEqualTo(MetricServer.Termination.ROOT_DIRECTORY_GONE);
  }

  @Test
  void pidFileThatIsASymbolicLinkIsNotFollowedAndStartUpFails() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path victim = Files.writeString(tmp.resolve("victim"), "keep me");
    Path pidFile = Files.createSymbolicLink(tmp.resolve("server.pid"), victim);
    Path socket = tmp.resolve("metrics.sock");
    assertThatThrownBy(
            () -> MetricServer.start(MetricServerOptions.of(root.toString(), socket.toString()).withPidFile(pidFile)))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("cannot write the --pid-file")
        .hasMessageContaining("symbolic link");
    assertThat(Files.readString(victim)).isEqualTo("keep me");
    assertThat(socket).doesNotExist();
  }

  @Test
  void periodicTaskOutlivesErrorsItThrows() throws Exception {
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);
    try {
      AtomicInteger runs = new AtomicInteger();
      Runnable task = () -> {
        int n = runs.incrementAndGet();
        if (n == 1) {
          throw new OutOfMemoryError("Java heap space (thrown by the test)");
        }
        if (n == 2) {
          throw new IllegalStateException("a bug (thrown by the test)");
        }
      };
      scheduler.scheduleWithFixedDelay(MetricServer.survivingEverything("test task", task), 0, 10, TimeUnit.MILLISECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (runs.get() < 4 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(runs.get()).isGreaterThanOrEqualTo(4);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** The value of a per-sandbox meta metric for one sandbox (the sample's value, without its timestamp). */
  private static String meta(String text, String name, String sandbox) {
    String line = samples(text).stream()
        .filter(l -> l.startsWith("runsc_meta_" + name + "{") && l.contains("sandbox=\"" + sandbox + "\""))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + name + " line for sandbox " + sandbox + " in:\n" + text));
    return line.substring(line.lastIndexOf('}') + 2).split(" ")[0];
  }

  private static String scrape(MetricServer server) throws Exception {
    RawHttp.Response r = RawHttp.get(server.tcpAddress(), "/metrics");
    assertThat(r.status()).isEqualTo(200);
    return r.text();
  }

  private static void awaitLocked(Path lock) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      try (Flock held = Flock.tryLock(lock, false)) {
        if (held == null) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("flock(1) did not take " + lock);
  }
}
