package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxmetrics.simulator.Fault;
import dev.sandboxmetrics.simulator.SandboxSpec;
import dev.sandboxmetrics.simulator.SimulatedSandbox;
import dev.sandboxmetrics.simulator.Simulator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sandbox-metrics stats}, the packaged executable through the launcher, against simulated pods. */
class StatsIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private Path root;
  private Path cgroup;
  private Simulator sim;

  @BeforeEach
  void startSimulator() throws Exception {
    root = dir.resolve("runsc-root");
    cgroup = dir.resolve("cgroup");
    sim = Simulator.start(root, "", cgroup);
  }

  @AfterEach
  void stopSimulator() {
    sim.close();
  }

  private SimulatedSandbox pod(String id, Fault fault) throws Exception {
    return sim.createRunning(SandboxSpec.builder(id).podName("web-" + id).namespace("shop").podContainers(2)
        .fault(fault).build());
  }

  @Test
  void noStreamPrintsOneLinePerApplicationContainer() throws Exception {
    pod("p1", Fault.NONE);
    pod("p2", Fault.NONE);
    Cli.Result r = Cli.run("--root=" + root, "stats", "--no-stream", "--cgroup-root", cgroup.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0)).startsWith("CONTAINER").contains("POD", "NAMESPACE", "CPU %", "MEM USAGE / LIMIT",
        "MEM %", "PIDS", "NET I/O");
    assertThat(lines).hasSize(5);
    assertThat(lines.get(1)).startsWith("app ").contains("web-p1", "shop", "/ 256.00MiB").containsPattern("\\d+\\.\\d\\d%");
    assertThat(lines.get(2)).startsWith("sidecar-1 ").contains("web-p1", "/ 64.00MiB");
  }

  @Test
  void jsonForScriptsWithCpuNearWhatTheSandboxUses() throws Exception {
    SimulatedSandbox p1 = pod("p1", Fault.NONE);
    pod("p2", Fault.EVENT_ERROR);
    Cli.Result r = Cli.run("--root=" + root, "stats", "--no-stream", "--format", "json",
        "--cgroup-root", cgroup.toString(), p1.containerIds().get(1));
    assertThat(r.exit()).as(r.err()).isZero();
    List<JsonNode> rows = new ArrayList<>();
    for (String line : r.out().lines().toList()) {
      rows.add(JSON.readTree(line));
    }
    assertThat(rows).singleElement().satisfies(row -> {
      assertThat(row.get("id").asText()).isEqualTo(p1.containerIds().get(1));
      assertThat(row.get("container").asText()).isEqualTo("app");
      assertThat(row.get("pod").asText()).isEqualTo("web-p1");
      double expected = 100 * p1.podStats().expectedCores(p1.containerIds().get(1));
      // Measured over about a second of simulated work: within a fifth.
      assertThat(row.get("cpu_percent").isNumber()).as(r.toString()).isTrue();
      assertThat(row.get("cpu_percent").asDouble()).as(r.toString()).isBetween(expected * 0.8, expected * 1.2);
      assertThat(row.get("memory_limit_bytes").asLong()).isEqualTo(256L << 20);
      assertThat(row.get("net_rx_bytes").asLong()).isPositive();
    });
  }

  @Test
  void aBadFormatIsAUsageError() throws Exception {
    Cli.Result r = Cli.run("--root=" + root, "stats", "--no-stream", "--format", "yaml");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("sandbox-metrics: --format yaml: choose table or json");
  }
}
