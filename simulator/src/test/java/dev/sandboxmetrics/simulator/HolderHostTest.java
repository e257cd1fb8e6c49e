package dev.sandboxmetrics.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.posix.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The processes behind simulated sandboxes: real, named, reaped at once, and never left behind. */
@Timeout(60)
class HolderHostTest {
  @Test
  void holdersAreLiveNamedProcessesThatVanishWhenKilled() throws Exception {
    try (HolderHost host = HolderHost.start()) {
      Holder a = Holder.start(host, "sb-a");
      Holder b = Holder.start(host, "sb-b");
      assertThat(Processes.isRunning(a.pid())).isTrue();
      // ps shows which sandbox a process stands for, once the forked subshell has run its `exec -a`
      // (before that, /proc shows the shell's command line, or an empty one during the exec).
      assertThat(awaitCmdline(a.pid(), "runsc-sandbox-simulated sb-a"))
          .startsWith("runsc-sandbox-simulated sb-a");

      a.kill();
      // Reaped by the host at once: no zombie answering signal 0.
      assertThat(Processes.isRunning(a.pid())).isFalse();
      b.stop();
      assertThat(Processes.isRunning(b.pid())).isFalse();
    }
  }

  /** Polls /proc/PID/cmdline until it starts with {@code prefix} (or 20 s passed) and returns the last read. */
  private static String awaitCmdline(long pid, String prefix) throws Exception {
    Path cmdline = Path.of("/proc/" + pid + "/cmdline");
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    String seen = Files.readString(cmdline);
    while (!seen.startsWith(prefix) && System.nanoTime() < deadline) {
      Thread.sleep(10);
      seen = Files.readString(cmdline);
    }
    return seen;
  }

  @Test
  void closingTheHostEndsEveryHolderStillAlive() throws Exception {
    List<Long> pids = new ArrayList<>();
    try (HolderHost host = HolderHost.start()) {
      for (int i = 0; i < 5; i++) {
        pids.add(Holder.start(host, "sb-" + i).pid());
      }
      assertThat(pids).allMatch(Processes::isRunning);
    }
    assertThat(pids).noneMatch(Processes::isRunning);
  }
}
