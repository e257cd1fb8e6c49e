package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandboxmetrics.posix.Processes;
import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sandboxes being created, started, stopped, killed, destroyed and re-created, as runsc does it. */
@Timeout(120)
class LifecycleTest {
  @TempDir Path tmp;

  @Test
  void aCreatedSandboxAlreadyRunsItsProcessAndAnswersLikeRunscCreate() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      SimulatedSandbox sb = sim.create(SandboxSpec.builder("s1").build());
      assertThat(sb.status()).isEqualTo(SimulatedSandbox.Status.CREATED);
      assertThat(status(sb)).isEqualTo("created");
      assertThat(Processes.isRunning(sb.pid())).isTrue();
      try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
        assertThat(c.export("").get("success").asBoolean()).isTrue();
      }
      sb.start();
      assertThat(status(sb)).isEqualTo("running");
      assertThat(sb.status()).isEqualTo(SimulatedSandbox.Status.RUNNING);
      assertThatThrownBy(sb::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("s1");
    }
  }

  @Test
  void stoppingEndsTheProcessAndTheSocketButKeepsTheFiles() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
      long pid = sb.pid();
      sb.stop();
      assertThat(status(sb)).isEqualTo("stopped");
      assertThat(read(sb).path("sandbox").path("pid").asLong()).isEqualTo(pid);
      assertThat(Processes.isRunning(pid)).isFalse();
      assertThat(sb.controlSocket()).exists();
      assertNobodyListens(sb);
    }
  }

  @Test
  void killNineLeavesAStateFileThatSaysRunningForAPidThatIsGone() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
      PlainClient connected = PlainClient.connect(sb.controlSocket());
      sb.kill9();
      assertThat(sb.status()).isEqualTo(SimulatedSandbox.Status.KILLED);
      assertThat(status(sb)).isEqualTo("running");
      assertThat(read(sb).path("sandbox").path("pid").asLong()).isEqualTo(sb.pid());
      assertThat(Processes.isRunning(sb.pid())).isFalse();
      // A client connected at the time of death sees the connection end: EOF if the dead sandbox had
      // accepted it, a reset if it was still waiting in the listen backlog.
      assertThat(endOfConnection(connected)).isIn("eof", "reset");
      connected.close();
      assertNobodyListens(sb);
    }
  }

  @Test
  void destroyRemovesStateLockAndSocketFiles() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").subContainers(1).build());
      long pid = sb.pid();
      sb.destroy();
      assertThat(sb.status()).isEqualTo(SimulatedSandbox.Status.DESTROYED);
      assertThat(Processes.isRunning(pid)).isFalse();
      assertThat(listing(sim.root())).isEmpty();
      assertThat(sim.sandbox("s1")).isNull();
    }
  }

  @Test
  void destroyRightAfterCreateEndsTheProcessEveryTime() throws IOException {
    // A holder signalled before its subshell resets the host's "ignore SIGTERM" must still end.
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      for (int i = 0; i < 40; i++) {
        SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s" + i).subContainers(1).build());
        long pid = sb.pid();
        sb.destroy();
        assertThat(Processes.isRunning(pid)).as("holder %d of sandbox s%d", pid, i).isFalse();
      }
      assertThat(listing(sim.root())).isEmpty();
    }
  }

  @Test
  void recreatingTheSameIdGivesANewCreationTimeAndProcess() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      SimulatedSandbox first = sim.createRunning(SandboxSpec.builder("s1").podName("web-0").build());
      first.kill9();
      SimulatedSandbox second = sim.recreate("s1");
      assertThat(second.id()).isEqualTo("s1");
      assertThat(second.createdAt()).isAfter(first.createdAt());
      assertThat(second.pid()).isNotEqualTo(first.pid());
      assertThat(Processes.isRunning(second.pid())).isTrue();
      assertThat(status(second)).isEqualTo("running");
      assertThat(OffsetDateTime.parse(read(second).get("createdAt").asText()).toInstant())
          .isEqualTo(second.createdAt());
      assertThat(sim.sandbox("s1")).isSameAs(second);
      try (PlainClient c = PlainClient.connect(second.controlSocket())) {
        assertThat(c.export("").get("success").asBoolean()).isTrue();
      }
    }
  }

  @Test
  void creatingAnIdTwiceOrAnInvalidIdIsRefused() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      sim.create(SandboxSpec.builder("s1").build());
      assertThatThrownBy(() -> sim.create(SandboxSpec.builder("s1").build()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("s1");
      assertThatThrownBy(() -> SandboxSpec.builder("bad/id"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bad/id");
    }
  }

  @Test
  void closeLeavesTheRootDirectoryExactlyAsItWas() throws IOException {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Files.writeString(root.resolve("other_sandbox:other.state"), "{\"not\":\"ours\"}");
    Files.createDirectory(root.resolve("bundles"));
    TreeMap<String, String> before = listing(root);
    Path socketDir = tmp.resolve("elsewhere/deeper");

    Simulator sim = Simulator.start(root, "localhost:1337");
    sim.createRunning(SandboxSpec.builder("a").subContainers(2).build());
    sim.create(SandboxSpec.builder("b").profile(Profile.BENCH).build());
    SimulatedSandbox stalled = sim.createRunning(SandboxSpec.builder("c").fault(Fault.STALL).build());
    sim.createRunning(SandboxSpec.builder("d").controlSocketPath(socketDir.resolve("d.sock")).build());
    sim.createRunning(SandboxSpec.builder("e").build()).kill9();
    sim.createRunning(SandboxSpec.builder("f").build()).stop();
    List<Long> pids = new ArrayList<>();
    sim.sandboxes().forEach(sb -> pids.add(sb.pid()));
    PlainClient waiting = PlainClient.connect(stalled.controlSocket());
    waiting.send("{\"method\":\"Metrics.Export\",\"arg\":{}}");
    assertThat(listing(root)).isNotEqualTo(before);

    sim.close();
    sim.close();
    waiting.close();
    assertThat(listing(root)).isEqualTo(before);
    assertThat(tmp.resolve("elsewhere")).doesNotExist();
    assertThat(pids).noneMatch(Processes::isRunning);
  }

  @Test
  void aRootTheSimulatorCreatedIsRemovedOnClose() throws IOException {
    Path root = tmp.resolve("new/root");
    try (Simulator sim = Simulator.start(root, "")) {
      sim.createRunning(SandboxSpec.builder("s1").build());
      assertThat(root).isDirectory();
    }
    assertThat(tmp.resolve("new")).doesNotExist();
  }

  @Test
  void twoHundredSandboxesComeUpAndAnswer() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      for (int i = 0; i < 200; i++) {
        sim.createRunning(SandboxSpec.builder(String.format("sb-%03d", i)).profile(Profile.BENCH).build());
      }
      assertThat(sim.sandboxes()).hasSize(200);
      for (SimulatedSandbox sb : sim.sandboxes()) {
        assertThat(Processes.isRunning(sb.pid())).as("%s", sb).isTrue();
        try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
          assertThat(c.export("^gauge_").path("result").path("snapshot").path("data")).hasSize(13);
        }
      }
      assertThat(listing(sim.root())).hasSize(600);
    }
  }

  private static String endOfConnection(PlainClient c) {
    try {
      return c.readToEnd().length == 0 ? "eof" : "bytes";
    } catch (IOException e) {
      return "reset";
    }
  }

  private static String status(SimulatedSandbox sb) throws IOException {
    return read(sb).get("status").asText();
  }

  private static JsonNode read(SimulatedSandbox sb) throws IOException {
    return PlainClient.JSON.readTree(sb.stateFile().toFile());
  }

  /** Every path under the directory with its type, size and content hash: what "as it was" means. */
  static TreeMap<String, String> listing(Path dir) throws IOException {
    TreeMap<String, String> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.equals(dir)) {
          continue;
        }
        String what =
            Files.isDirectory(p)
                ? "dir"
                : Files.isRegularFile(p) ? "file " + Files.size(p) + " " + Files.readString(p).hashCode() : "other";
        out.put(dir.relativize(p).toString(), what);
      }
    }
    return out;
  }

  /**
   * The selector thread closes a listening socket in its own time: wait, with a generous bound, until nobody
   * listens any more, then connecting must fail as it does for a stopped or killed runsc sandbox.
   */
  private static void assertNobodyListens(SimulatedSandbox sb) {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try {
        PlainClient.connect(sb.controlSocket()).close();
        Thread.onSpinWait();
      } catch (IOException e) {
        break;
      }
    }
    assertThatThrownBy(() -> PlainClient.connect(sb.controlSocket())).isInstanceOf(SocketException.class);
  }
}
