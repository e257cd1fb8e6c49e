package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.posix.Processes;
import dev.sandboxmetrics.simulator.state.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Churn steps: the oldest sandboxes go, as many new ones come, and the lifetime log says when. */
@Timeout(120)
class ChurnTest {
  @TempDir Path tmp;

  @Test
  void aStepReplacesTheOldestSandboxesAndLogsEachLifetimeInOrder() throws IOException {
    Path root = tmp.resolve("root");
    Path log = tmp.resolve("churn.log");
    int[] next = {3};
    try (Simulator sim = Simulator.start(root, "localhost:1337")) {
      for (int i = 0; i < 3; i++) {
        sim.createRunning(SandboxSpec.builder("c" + i).fault(i == 2 ? Fault.STALL : Fault.NONE).build());
      }
      long gonePid = sim.sandbox("c0").pid();
      try (Churn churn = new Churn(sim, 2, old -> spec("c" + next[0]++, old.fault()), log)) {
        churn.logExisting();
        churn.step();
        assertThat(ids(sim)).containsExactly("c2", "c3", "c4");
        churn.step();
        assertThat(ids(sim)).containsExactly("c4", "c5", "c6");
        assertThat(churn.created()).isEqualTo(4);
        assertThat(churn.destroyed()).isEqualTo(4);
      }
      // The replacement of the stalling sandbox stalls too; the new ones run, the old ones left no file.
      assertThat(sim.sandbox("c5").fault()).isEqualTo(Fault.STALL);
      assertThat(sim.sandbox("c6").status()).isEqualTo(SimulatedSandbox.Status.RUNNING);
      assertThat(StateFiles.statePath(root, "c0", "c0")).doesNotExist();
      assertThat(StateFiles.statePath(root, "c6", "c6")).exists();
      assertThat(Processes.isRunning(gonePid)).isFalse();
    }

    List<String[]> lines = Files.readAllLines(log).stream().map(l -> l.split(" ")).collect(Collectors.toList());
    assertThat(lines.stream().map(l -> l[1] + " " + l[2])).containsExactly(
        "create c0", "create c1", "create c2",
        "destroy c0", "destroy c1", "create c3", "create c4",
        "destroy c2", "destroy c3", "create c5", "create c6");
    long previous = 0;
    for (String[] l : lines) {
      long t = Long.parseLong(l[0]);
      assertThat(t).as("times never go back").isGreaterThanOrEqualTo(previous);
      previous = t;
    }
  }

  @Test
  void aStepMustReplaceAtLeastOneSandbox() throws IOException {
    try (Simulator sim = Simulator.start(tmp.resolve("root"), "localhost:1337")) {
      assertThatThrownBy(() -> new Churn(sim, 0, s -> s, null))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
    }
  }

  private static SandboxSpec spec(String id, Fault fault) {
    return SandboxSpec.builder(id).fault(fault).build();
  }

  private static List<String> ids(Simulator sim) {
    return sim.sandboxes().stream().map(SimulatedSandbox::id).collect(Collectors.toList());
  }
}
