package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code containerManager.Event} over a simulated sandbox's real control socket: runsc's EventOut shape
 * (Go's omitempty rules), pods with CRI annotations and OCI resources, the host cgroup tree, the Event faults.
 */
@Timeout(60)
class EventTest {
  @TempDir Path tmp;
  Simulator sim;

  @BeforeEach
  void startSimulator() throws IOException {
    sim = Simulator.start(tmp.resolve("root"), "localhost:1337", tmp.resolve("cgroup"));
  }

  @AfterEach
  void closeSimulator() {
    sim.close();
  }

  private SimulatedSandbox pod(String id, Fault fault) throws IOException {
    return sim.createRunning(
        SandboxSpec.builder(id).podName("web-" + id).namespace("shop").podContainers(2).fault(fault).build());
  }

  @Test
  void eventHasRuncsShapeWithAnEmptyCpuAndEveryContainersUsage() throws IOException {
    SimulatedSandbox sb = pod("p1", Fault.NONE);
    String app = sb.containerIds().get(1);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode reply = c.call("containerManager.Event", TextNode.valueOf(app));
      assertThat(reply.get("success").asBoolean()).isTrue();
      JsonNode result = reply.get("result");
      JsonNode event = result.get("event");
      assertThat(event.get("type").asText()).isEqualTo("stats");
      assertThat(event.get("id").asText()).isEqualTo(app);
      JsonNode data = event.get("data");
      assertThat(data.path("cpu").path("usage").size()).isZero();
      assertThat(data.path("memory").path("usage").get("usage").asLong()).isPositive();
      assertThat(data.path("memory").path("usage").has("max")).isFalse();
      assertThat(data.path("memory").has("cache")).isFalse();
      assertThat(data.path("memory").path("swap").has("limit")).isTrue();
      assertThat(data.path("pids").get("current").asLong()).isPositive();
      assertThat(data.get("network_interfaces").get(1).get("Name").asText()).isEqualTo("eth0");
      List<String> keys = new ArrayList<>();
      result.get("containerUsage").fieldNames().forEachRemaining(keys::add);
      assertThat(keys).containsExactlyElementsOf(sb.containerIds().stream().sorted().toList());
    }
  }

  @Test
  void cpuGrowsAndTheHostCgroupMeasuresMoreThanTheSentryAccounts() throws Exception {
    SimulatedSandbox sb = pod("p1", Fault.NONE);
    String app = sb.containerIds().get(1);
    Path cg = tmp.resolve("cgroup").resolve(Simulator.defaultCgroupPath("p1").substring(1));
    long first;
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      first = c.call("containerManager.Event", TextNode.valueOf(app)).path("result").path("containerUsage")
          .get(app).asLong();
    }
    Thread.sleep(150);
    JsonNode usage;
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      usage = c.call("containerManager.Event", TextNode.valueOf(app)).path("result").path("containerUsage");
    }
    assertThat(usage.get(app).asLong()).isGreaterThan(first);
    long sum = 0;
    for (JsonNode v : usage) {
      sum += v.asLong();
    }
    String cpuStat = Files.readString(cg.resolve("cpu.stat"));
    long usec = Long.parseLong(cpuStat.lines().filter(l -> l.startsWith("usage_usec ")).findFirst().orElseThrow()
        .substring("usage_usec ".length()));
    assertThat(usec * 1000).isGreaterThan(sum);
    assertThat(Files.readString(cg.resolve("memory.current")).trim()).matches("[0-9]+");
    assertThat(Files.readString(cg.resolve("cpu.pressure"))).startsWith("some avg10=");
    sb.destroy();
    assertThat(cg).doesNotExist();
  }

  @Test
  void theStateFilesRecordCgroupCriAnnotationsAndResources() throws IOException {
    SimulatedSandbox sb = pod("p1", Fault.NONE);
    JsonNode root = PlainClient.JSON.readTree(sb.stateFiles().get(0).toFile());
    assertThat(root.path("sandbox").path("cgroup").path("cgroupv2").path("path").asText())
        .isEqualTo(Simulator.defaultCgroupPath("p1"));
    JsonNode app = PlainClient.JSON.readTree(sb.stateFiles().get(1).toFile());
    JsonNode annotations = app.path("spec").path("annotations");
    assertThat(annotations.path("io.kubernetes.cri.container-name").asText()).isEqualTo("app");
    assertThat(annotations.path("io.kubernetes.cri.image-name").asText()).contains("nginx");
    assertThat(app.path("spec").path("linux").path("resources").path("memory").path("limit").asLong())
        .isEqualTo(256L << 20);
    assertThat(app.path("spec").path("linux").path("cgroupsPath").asText()).endsWith("/" + sb.containerIds().get(1));
  }

  @Test
  void unknownContainersAndWrongArgumentsGetGosErrors() throws IOException {
    SimulatedSandbox sb = pod("p1", Fault.NONE);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode reply = c.call("containerManager.Event", TextNode.valueOf("nope"));
      assertThat(reply.get("success").asBoolean()).isFalse();
      assertThat(reply.get("err").asText()).isEqualTo("container \"nope\" not found");
      reply = c.call("containerManager.Event", IntNode.valueOf(3));
      assertThat(reply.get("err").asText()).isEqualTo("json: cannot unmarshal number into Go value of type string");
    }
  }

  @Test
  void eventFaultsLeaveMetricsAlone() throws IOException {
    SimulatedSandbox sb = pod("p1", Fault.EVENT_ERROR);
    String app = sb.containerIds().get(1);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      assertThat(c.call("containerManager.Event", TextNode.valueOf(app)).get("success").asBoolean()).isFalse();
      assertThat(c.export("").get("success").asBoolean()).isTrue();
    }
    sb.setFault(Fault.EVENT_ABSURD_MEMORY);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode usage = c.call("containerManager.Event", TextNode.valueOf(app))
          .path("result").path("event").path("data").path("memory").path("usage").get("usage");
      assertThat(usage.bigIntegerValue()).isEqualTo(new java.math.BigInteger(PodStats.ABSURD_MEMORY));
    }
    sb.setFault(Fault.EVENT_UNKNOWN_CONTAINER);
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      JsonNode result = c.call("containerManager.Event", TextNode.valueOf(app)).path("result");
      assertThat(result.path("event").path("id").asText()).isEqualTo("p1-ghost");
      assertThat(result.path("containerUsage").has("p1-ghost")).isTrue();
    }
    sb.setFault(Fault.EVENT_CPU_DECREASE);
    long before;
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      before = c.call("containerManager.Event", TextNode.valueOf(app)).path("result").path("containerUsage")
          .get(app).asLong();
    }
    try (PlainClient c = PlainClient.connect(sb.controlSocket())) {
      assertThat(c.call("containerManager.Event", TextNode.valueOf(app)).path("result").path("containerUsage")
          .get(app).asLong()).isLessThan(before);
    }
  }
}
