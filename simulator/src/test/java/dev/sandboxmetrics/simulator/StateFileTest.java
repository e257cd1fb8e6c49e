package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sandboxmetrics.posix.Flock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The state files a simulated sandbox leaves in the root directory, read as a metric server reads them. */
@Timeout(60)
class StateFileTest {
  @TempDir Path tmp;
  Simulator sim;

  @BeforeEach
  void startSimulator() throws IOException {
    sim = Simulator.start(tmp.resolve("root"), "%RUNTIME_ROOT%/metrics.sock");
  }

  @AfterEach
  void closeSimulator() {
    sim.close();
  }

  @Test
  void rootContainerStateFileHasEveryFieldRunscWrites() throws IOException {
    SimulatedSandbox sb =
        sim.createRunning(
            SandboxSpec.builder("s1")
                .podName("web-0")
                .namespace("default")
                .uid(1000)
                .ociVersion("1.0.2")
                .capabilities("CAP_NET_RAW", "CAP_CHOWN")
                .nvproxy()
                .cgroupPath("/kubepods/pod1/s1")
                .build());
    assertThat(sb.stateFile()).hasFileName("s1_sandbox:s1.state");
    assertThat(Files.getPosixFilePermissions(sb.stateFile()))
        .isEqualTo(PosixFilePermissions.fromString("rw-r-----"));
    assertThat(sb.lockFile()).exists().hasFileName("s1_sandbox:s1.lock");

    JsonNode state = read(sb.stateFile());
    assertThat(state.get("id").asText()).isEqualTo("s1");
    assertThat(state.get("status").asText()).isEqualTo("running");
    String createdAt = state.get("createdAt").asText();
    assertThat(createdAt).matches(ControlProtocolTest.RFC3339_NANO);
    assertThat(OffsetDateTime.parse(createdAt).toInstant()).isEqualTo(sb.createdAt());

    JsonNode spec = state.get("spec");
    assertThat(spec.get("ociVersion").asText()).isEqualTo("1.0.2");
    assertThat(spec.path("process").path("user").path("uid").asLong()).isEqualTo(1000);
    assertThat(spec.path("process").path("capabilities").path("bounding"))
        .extracting(JsonNode::asText)
        .containsExactly("CAP_NET_RAW", "CAP_CHOWN");
    assertThat(spec.path("process").path("capabilities").has("ambient")).isFalse();
    assertThat(spec.path("annotations").path("io.kubernetes.cri.container-type").asText()).isEqualTo("sandbox");
    assertThat(spec.path("annotations").path("io.kubernetes.cri.sandbox-name").asText()).isEqualTo("web-0");
    assertThat(spec.path("annotations").path("io.kubernetes.cri.sandbox-namespace").asText()).isEqualTo("default");
    assertThat(spec.path("annotations").path("dev.gvisor.internal.nvproxy").asText()).isEqualTo("true");

    JsonNode sandbox = state.get("sandbox");
    assertThat(sandbox.get("id").asText()).isEqualTo("s1");
    assertThat(sandbox.get("pid").asLong()).isEqualTo(sb.pid()).isPositive();
    assertThat(sandbox.get("podName").asText()).isEqualTo("web-0");
    assertThat(sandbox.get("namespace").asText()).isEqualTo("default");
    assertThat(sandbox.get("controlSocketPath").asText()).isEqualTo(sim.root().resolve("runsc-s1.sock").toString());
    // Written exactly as given, placeholder included: the server substitutes it.
    assertThat(sandbox.get("metricServerAddress").asText()).isEqualTo("%RUNTIME_ROOT%/metrics.sock");
    assertThat(sandbox.path("metricMetadata").path("platform").asText()).isEqualTo("systrap");
    assertThat(sandbox.path("registeredMetrics").path("metrics")).hasSize(sb.registration().metrics().size());
    assertThat(sandbox.path("registeredMetrics").path("stages")).isNotEmpty();
    assertThat(sandbox.path("cgroup").path("cgroupv2").path("path").asText()).isEqualTo("/kubepods/pod1/s1");
    assertThat(sandbox.get("checkpointed").asBoolean()).isFalse();
    assertThat(sandbox.get("restored").asBoolean()).isFalse();
    assertThat(sandbox.get("cpuTimeSaved").asLong()).isZero();
    assertThat(sandbox.get("wallTimeSaved").asLong()).isZero();
  }

  @Test
  void registrationIsEncodedAsRunscEncodesTheProtobuf() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("s1").build());
    JsonNode metrics = read(sb.stateFile()).path("sandbox").path("registeredMetrics").path("metrics");
    JsonNode opens = find(metrics, "fs_opens");
    assertThat(opens.get("name").asText()).isEqualTo("/fs/opens");
    assertThat(opens.get("description").asText()).isEqualTo("Number of file opens.");
    assertThat(opens.get("cumulative").asBoolean()).isTrue();
    // omitempty: no false booleans, no zero enums, no empty lists.
    assertThat(opens.has("sync")).isFalse();
    assertThat(opens.has("type")).isFalse();
    assertThat(opens.has("units")).isFalse();
    assertThat(opens.has("fields")).isFalse();

    JsonNode sysno = find(metrics, "unimplemented_syscalls");
    assertThat(sysno.get("sync").asBoolean()).isTrue();
    assertThat(sysno.path("fields").get(0).get("field_name").asText()).isEqualTo("sysno");
    assertThat(sysno.path("fields").get(0).get("allowed_values")).isNotEmpty();

    JsonNode latency = find(metrics, "fs_read_latency");
    assertThat(latency.get("type").asInt()).isEqualTo(1);
    assertThat(latency.get("units").asInt()).isEqualTo(1);
    assertThat(latency.get("distribution_bucket_lower_bounds").get(0).asLong()).isZero();
    assertThat(latency.get("distribution_bucket_lower_bounds")).hasSize(17);
    assertThat(find(metrics, "fs_read_wait").get("units").asInt()).isEqualTo(1);
  }

  @Test
  void subContainersShareTheSandboxAndSayTheyAreContainers() throws IOException {
    SimulatedSandbox sb =
        sim.createRunning(
            SandboxSpec.builder("pod1")
                .podName("web-0")
                .subContainer(ContainerSpec.builder().id("app").uid(0).tpuproxy().build())
                .subContainers(1)
                .build());
    assertThat(sb.containerIds()).containsExactly("pod1", "app", "pod1-c2");
    assertThat(sb.stateFiles())
        .extracting(p -> p.getFileName().toString())
        .containsExactly("pod1_sandbox:pod1.state", "app_sandbox:pod1.state", "pod1-c2_sandbox:pod1.state");
    JsonNode root = read(sb.stateFiles().get(0));
    for (Path p : sb.stateFiles().subList(1, 3)) {
      JsonNode sub = read(p);
      assertThat(sub.path("spec").path("annotations").path("io.kubernetes.cri.container-type").asText())
          .isEqualTo("container");
      assertThat(sub.path("spec").path("annotations").path("io.kubernetes.cri.sandbox-id").asText())
          .isEqualTo("pod1");
      assertThat(sub.get("sandbox")).isEqualTo(root.get("sandbox"));
      assertThat(sub.get("status").asText()).isEqualTo("running");
      assertThat(OffsetDateTime.parse(sub.get("createdAt").asText()))
          .isAfter(OffsetDateTime.parse(root.get("createdAt").asText()));
    }
    assertThat(read(sb.stateFiles().get(1)).path("spec").path("annotations").path("dev.gvisor.internal.tpuproxy").asText())
        .isEqualTo("true");
  }

  @Test
  void crioAnnotationsWhenAskedFor() throws IOException {
    SimulatedSandbox sb =
        sim.createRunning(SandboxSpec.builder("c1").cri(SandboxSpec.Cri.CRIO).subContainers(1).build());
    assertThat(read(sb.stateFiles().get(0)).path("spec").path("annotations").path("io.kubernetes.cri-o.ContainerType").asText())
        .isEqualTo("sandbox");
    assertThat(read(sb.stateFiles().get(1)).path("spec").path("annotations").path("io.kubernetes.cri-o.ContainerType").asText())
        .isEqualTo("container");
    assertThat(read(sb.stateFiles().get(1)).path("spec").path("annotations").has("io.kubernetes.cri.container-type"))
        .isFalse();
  }

  @Test
  void aSandboxNotAskedForMetricsHasNoAddressAndNoRegistration() throws IOException {
    SimulatedSandbox sb = sim.createRunning(SandboxSpec.builder("quiet").noMetrics().build());
    JsonNode sandbox = read(sb.stateFile()).get("sandbox");
    assertThat(sandbox.get("metricServerAddress").asText()).isEmpty();
    assertThat(sandbox.get("registeredMetrics").isNull()).isTrue();

    SimulatedSandbox other = sim.createRunning(SandboxSpec.builder("other").metricServerAddress("other:9999").build());
    assertThat(read(other.stateFile()).path("sandbox").get("metricServerAddress").asText()).isEqualTo("other:9999");
  }

  @Test
  void restoredSandboxesSayHowMuchTimeTheySaved() throws IOException {
    SimulatedSandbox sb =
        sim.createRunning(
            SandboxSpec.builder("r1")
                .checkpointed(true)
                .restored(Duration.ofMillis(1500), Duration.ofSeconds(3))
                .metricMetadata(Map.of("version", "release-20260801.0", "platform", "kvm"))
                .build());
    JsonNode sandbox = read(sb.stateFile()).get("sandbox");
    assertThat(sandbox.get("checkpointed").asBoolean()).isTrue();
    assertThat(sandbox.get("restored").asBoolean()).isTrue();
    assertThat(sandbox.get("cpuTimeSaved").asLong()).isEqualTo(1_500_000_000L);
    assertThat(sandbox.get("wallTimeSaved").asLong()).isEqualTo(3_000_000_000L);
    assertThat(sandbox.get("metricMetadata").get("platform").asText()).isEqualTo("kvm");
  }

  /**
   * Polls /proc/locks until it lists a blocked flock waiter ({@code ->}) on {@code file}'s inode; false after
   * 20 s.
   */
  private static boolean awaitFlockWaiter(Path file) throws Exception {
    String inode = ":" + Files.getAttribute(file, "unix:ino") + " ";
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
        if (line.contains("-> FLOCK") && line.contains(inode)) {
          return true;
        }
      }
      Thread.sleep(10);
    }
    return false;
  }

  @Test
  void theWriterWaitsWhileSomeoneHoldsTheLock() throws Exception {
    SimulatedSandbox sb = sim.create(SandboxSpec.builder("s1").build());
    CompletableFuture<Void> starting;
    // Held the way a reader following runsc's locking holds it: flock(2) on the .lock file.
    Flock held = Flock.lock(sb.lockFile());
    try {
      starting = CompletableFuture.runAsync(sb::start);
      // The kernel lists a process blocked in flock(2) as a waiter on the file: once the writer is one, it
      // has tried to take the lock and must not have written anything yet.
      assertThat(awaitFlockWaiter(sb.lockFile())).as("a flock waiter on %s", sb.lockFile()).isTrue();
      assertThat(starting).isNotDone();
      assertThat(read(sb.stateFile()).get("status").asText()).isEqualTo("created");
    } finally {
      held.close();
    }
    starting.get(30, TimeUnit.SECONDS);
    assertThat(read(sb.stateFile()).get("status").asText()).isEqualTo("running");
  }

  @Test
  void writesLeaveNoTemporaryFilesBehind() throws IOException {
    SimulatedSandbox sb = sim.create(SandboxSpec.builder("s1").subContainers(2).build());
    sb.start();
    sb.stop();
    try (Stream<Path> files = Files.list(sim.root())) {
      List<String> names = new ArrayList<>();
      files.forEach(p -> names.add(p.getFileName().toString()));
      assertThat(names)
          .containsExactlyInAnyOrder(
              "s1_sandbox:s1.state", "s1_sandbox:s1.lock",
              "s1-c1_sandbox:s1.state", "s1-c1_sandbox:s1.lock",
              "s1-c2_sandbox:s1.state", "s1-c2_sandbox:s1.lock",
              "runsc-s1.sock");
    }
  }

  private static JsonNode read(Path p) throws IOException {
    return PlainClient.JSON.readTree(p.toFile());
  }

  private static JsonNode find(JsonNode metrics, String prometheusName) {
    for (JsonNode m : metrics) {
      if (m.path("prometheus_name").asText().equals(prometheusName)) {
        return m;
      }
    }
    throw new AssertionError("no registered metric " + prometheusName);
  }
}
