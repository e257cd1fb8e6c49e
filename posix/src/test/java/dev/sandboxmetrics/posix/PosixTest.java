package dev.sandboxmetrics.posix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PosixTest {
  @TempDir Path dir;

  @Test
  void flockExcludesAnotherProcessHoldingTheLock() throws Exception {
    Path lock = dir.resolve("c1_sandbox:s1.lock");
    Files.createFile(lock);
    // A real flock(1) in another process holds the lock, as runsc would while writing the state file.
    Process holder = new ProcessBuilder("flock", "-o", "-x", lock.toString(), "sleep", "30").start();
    try {
      waitUntilLocked(lock);
      assertThat(Flock.tryLock(lock, false)).isNull();
    } finally {
      holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    try (Flock held = awaitFree(lock)) {
      assertThat(held).isNotNull();
      // And ours excludes flock(1) in turn.
      Process probe = new ProcessBuilder("flock", "-n", "-x", lock.toString(), "true").start();
      assertThat(probe.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(probe.exitValue()).isEqualTo(1);
    }
  }

  @Test
  void tryLockWithoutCreateLeavesNoFileBehind() {
    Path lock = dir.resolve("missing.lock");
    assertThatThrownBy(() -> Flock.tryLock(lock, false)).isInstanceOf(NoSuchFileException.class);
    assertThat(lock).doesNotExist();
  }

  @Test
  void blockingLockCreatesTheFile() throws IOException {
    Path lock = dir.resolve("new.lock");
    try (Flock held = Flock.lock(lock)) {
      assertThat(lock).exists();
      assertThat(held.path()).isEqualTo(lock);
    }
  }

  @Test
  void livenessFollowsTheProcess() throws Exception {
    Process p = new ProcessBuilder("sleep", "30").start();
    assertThat(Processes.isRunning(p.pid())).isTrue();
    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    assertThat(Processes.isRunning(p.pid())).isFalse();
    assertThat(Processes.isRunning(0)).isFalse();
    assertThat(Processes.isRunning(-1)).isFalse();
    assertThat(Processes.isRunning(Processes.currentPid())).isTrue();
  }

  @Test
  void frequentLivenessCheckGivesTheSameAnswersAsTheOneShotOne() throws Exception {
    Process p = new ProcessBuilder("sleep", "30").start();
    assertThat(Processes.isRunningOften(p.pid())).isTrue();
    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    // Exited and reaped: ESRCH for both.
    assertThat(Processes.isRunningOften(p.pid())).isFalse().isEqualTo(Processes.isRunning(p.pid()));
    for (long pid : new long[] {0, -1, Integer.MIN_VALUE, (long) Integer.MAX_VALUE + 1, Long.MAX_VALUE}) {
      assertThat(Processes.isRunningOften(pid)).as("pid %d", pid).isFalse();
    }
    assertThat(Processes.isRunningOften(Processes.currentPid())).isTrue();
  }

  @Test
  void aZombieCountsAsRunningForBothChecksAsForRunsc() throws Exception {
    // perl forks a child that exits at once and never reaps it (no SIGCHLD handler): a zombie whose PID
    // still takes signal 0, as kill(2) says, so both checks (and runsc's) call it running. Not sh with
    // "sleep 0 & exec sleep 30": a shell may reap the child when it exits before the exec, and then there is
    // no zombie to find. perl is part of every Debian system (perl-base is essential).
    Process parent = new ProcessBuilder("perl", "-e",
        "my $child = fork(); die \"fork: $!\" unless defined $child; exit 0 if $child == 0;"
            + " $| = 1; print \"$child\\n\"; sleep 30;").start();
    try {
      long zombie = Long.parseLong(new BufferedReader(
          new InputStreamReader(parent.getInputStream(), StandardCharsets.US_ASCII)).readLine().trim());
      Path stat = Path.of("/proc/" + zombie + "/stat");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!processState(stat).equals("Z")) {
        assertThat(System.nanoTime()).as("child %d never became a zombie", zombie).isLessThan(deadline);
        Thread.onSpinWait();
      }
      assertThat(Processes.isRunning(zombie)).isTrue();
      assertThat(Processes.isRunningOften(zombie)).isTrue();
    } finally {
      parent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The state letter in /proc/PID/stat (after the command name in parentheses); "" when unreadable. */
  private static String processState(Path stat) {
    try {
      String s = Files.readString(stat);
      return s.substring(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  @Test
  void connectsToASocketWhosePathIsTooLongForSockaddr() throws Exception {
    Path deep = dir;
    while (deep.toString().length() < 120) {
      deep = deep.resolve("a-rather-long-directory-name");
    }
    Files.createDirectories(deep);
    Path socket = deep.resolve("runsc-s1.sock");
    assertThat(PathHandle.tooLongForSocket(socket)).isTrue();
    // Bind through the short name of the directory, as a sandbox in a deep root would have to.
    try (PathHandle dirHandle = PathHandle.open(deep);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(dirHandle.procPath().resolve("runsc-s1.sock")));
      assertThat(socket).exists();
      try (PathHandle handle = PathHandle.open(socket);
          SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(handle.procPath()))) {
        assertThat(client.isConnected()).isTrue();
      }
    }
  }

  /**
   * Takes the lock once flock(1) is gone. It forks its command, and the child closes its copy of the
   * descriptor (-o) only just before it runs sleep: killed early, that copy may hold the lock a moment longer.
   */
  private static Flock awaitFree(Path lock) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Flock held = Flock.tryLock(lock, false);
    while (held == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
      held = Flock.tryLock(lock, false);
    }
    return held;
  }

  private static void waitUntilLocked(Path lock) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      Flock probe = Flock.tryLock(lock, false);
      if (probe == null) {
        return;
      }
      probe.close();
      Thread.sleep(20);
    }
    throw new AssertionError("flock(1) never took the lock");
  }
}
