package dev.sandboxmetrics.metricserver.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.runsc.discovery.DiscoveryException;
import dev.sandboxmetrics.runsc.discovery.LoadResult;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.runsc.discovery.StateFileException;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import dev.sandboxmetrics.simulator.state.ContainerRecord;
import dev.sandboxmetrics.simulator.state.StateFiles;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A root directory holding what runsc never writes (FIFOs, device nodes, symbolic links, directories and
 * huge files named like state files, thousands of bogus state files, a lock held for ever), scanned by a
 * real registry over real files. Nothing may block a scan (the class timeout catches that), hide the good
 * sandbox, be read twice while unchanged, or flood the log.
 */
@Timeout(120)
@SuppressWarnings("try") // FdLimit is held open, not referenced, while a load runs out of descriptors
class HostileRootDirectoryTest {
  private static final String ADDRESS = "localhost:1337";
  private static final Registration REGISTRATION = new Registration(
      List.of(new MetricMetadata("/fs/opens", "fs_opens", "Opens.", true, false, 0, 0, List.of(), List.of())),
      List.of());
  private static final String UNREADABLE = "could not be read";

  @TempDir Path root;
  @TempDir Path elsewhere;

  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private PrintStream originalErr;

  @BeforeEach
  void captureLog() {
    // slf4j-simple writes to whatever System.err is at the time of each line.
    originalErr = System.err;
    System.setErr(new PrintStream(new TeeStream(originalErr, log), true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restoreLog() {
    System.setErr(originalErr);
  }

  @Test
  void nothingInTheRootDirectoryBlocksOrBreaksAScan() throws Exception {
    write("good", "pod-good");
    // A FIFO as a state file, as the lock of a valid state file, and behind a symbolic link.
    mkfifo(root.resolve("fifo_sandbox:fifo.state"));
    write("fifolock", "pod-fifolock");
    Files.delete(root.resolve("fifolock_sandbox:fifolock.lock"));
    mkfifo(root.resolve("fifolock_sandbox:fifolock.lock"));
    Path fifoElsewhere = mkfifo(elsewhere.resolve("fifo"));
    Files.createSymbolicLink(root.resolve("tofifo_sandbox:tofifo.state"), fifoElsewhere);
    // A symbolic link to a perfectly valid state file of a sandbox that wants this server.
    write("linked", "pod-linked");
    Files.move(root.resolve("linked_sandbox:linked.state"), elsewhere.resolve("linked.state"));
    Files.createSymbolicLink(root.resolve("linked_sandbox:linked.state"), elsewhere.resolve("linked.state"));
    // A valid state file whose lock is a symbolic link.
    write("linkedlock", "pod-linkedlock");
    Files.move(root.resolve("linkedlock_sandbox:linkedlock.lock"), elsewhere.resolve("linkedlock.lock"));
    Files.createSymbolicLink(root.resolve("linkedlock_sandbox:linkedlock.lock"), elsewhere.resolve("linkedlock.lock"));
    // A device node (root may make one; anyone else gets a Unix socket, also not a regular file).
    Path device = root.resolve("dev_sandbox:dev.state");
    if (!run("mknod", device.toString(), "c", "1", "3")) {
      run("python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", device.toString());
    }
    assertThat(device).exists();
    Files.createDirectory(root.resolve("dir_sandbox:dir.state"));
    // 3 GiB sparse, and 100 MB written.
    try (RandomAccessFile f = new RandomAccessFile(root.resolve("sparse_sandbox:sparse.state").toFile(), "rw")) {
      f.setLength(3L * 1024 * 1024 * 1024);
    }
    byte[] mb = new byte[1024 * 1024];
    java.util.Arrays.fill(mb, (byte) ' ');
    try (var out = Files.newOutputStream(root.resolve("big_sandbox:big.state"))) {
      for (int i = 0; i < 100; i++) {
        out.write(mb);
      }
    }

    RootDirectory directory = new RootDirectory(root);
    SandboxRegistry registry = new SandboxRegistry(directory, root.toString(), ADDRESS, false);
    List<ServedSandbox> served = registry.scan();

    assertThat(served).extracting(ServedSandbox::id).containsExactly("good");
    List<String> lines = logLines(UNREADABLE);
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains("9 state files could not be read");

    // Unchanged, nothing is read or reported again: a refused symbolic link is logged once, not per scan.
    long reads = directory.stateFileReads();
    log.reset();
    assertThat(registry.scan()).extracting(ServedSandbox::id).containsExactly("good");
    assertThat(directory.stateFileReads()).isEqualTo(reads);
    assertThat(logLines(UNREADABLE)).isEmpty();

    // What each was refused for, one scan at a time (a fresh registry reports the first three).
    String all = describeEach(directory);
    assertThat(all)
        .contains("fifo_sandbox:fifo.state: is not a regular file (a FIFO)")
        .contains("fifolock_sandbox:fifolock.lock is not a regular file (a FIFO)")
        .contains("tofifo_sandbox:tofifo.state: is a symbolic link (not followed)")
        .contains("linked_sandbox:linked.state: is a symbolic link (not followed)")
        .contains("linkedlock_sandbox:linkedlock.lock is a symbolic link (not followed)")
        .contains("dev_sandbox:dev.state: is not a regular file")
        .contains("dir_sandbox:dir.state: is not a regular file (a directory)")
        .contains("sparse_sandbox:sparse.state: larger than the limit of " + RootDirectory.MAX_STATE_FILE_BYTES + " bytes")
        .contains("big_sandbox:big.state: larger than the limit of " + RootDirectory.MAX_STATE_FILE_BYTES + " bytes");
  }

  @Test
  void thousandsOfNewBogusStateFilesTakeOneListingOneReadEachAndOneLogLine() throws Exception {
    write("good", "pod-good");
    int bogus = 5000;
    for (int i = 0; i < bogus; i++) {
      Files.writeString(root.resolve("b" + i + "_sandbox:b" + i + ".state"), "{not json");
    }
    RootDirectory directory = new RootDirectory(root);
    SandboxRegistry registry = new SandboxRegistry(directory, root.toString(), ADDRESS, false);

    assertThat(registry.scan()).extracting(ServedSandbox::id).containsExactly("good");

    assertThat(directory.listings()).isEqualTo(1);
    assertThat(directory.stateFileReads()).isEqualTo(bogus + 1);
    List<String> lines = logLines(UNREADABLE);
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains(bogus + " state files could not be read").contains("not valid JSON").contains("; ...");
    assertThat(logLines("b4999_sandbox")).hasSizeLessThanOrEqualTo(1);

    log.reset();
    registry.scan();
    assertThat(directory.listings()).isEqualTo(2);
    assertThat(directory.stateFileReads()).isEqualTo(bogus + 1);
    assertThat(logLines(UNREADABLE)).isEmpty();
  }

  @Test
  void newSandboxLockedPastTheDeadlineIsShownAsPresentAndNotRunning() throws Exception {
    write("good", "pod-good");
    write("stuck", "pod-stuck");
    Path lock = root.resolve("stuck_sandbox:stuck.lock");
    AtomicLong clock = new AtomicLong();
    RootDirectory directory = new RootDirectory(root);
    SandboxRegistry registry =
        new SandboxRegistry(directory, root.toString(), ADDRESS, false, Duration.ofSeconds(8), clock::get);
    // A real flock(1) in another process holds the lock, as a runsc that hangs while creating the sandbox.
    Process holder = new ProcessBuilder("flock", "-o", "-x", lock.toString(), "sleep", "60").start();
    try {
      awaitLocked(lock);
      assertThat(registry.scan()).extracting(ServedSandbox::id).containsExactly("good");
      clock.addAndGet(TimeUnit.SECONDS.toNanos(7));
      assertThat(registry.scan()).extracting(ServedSandbox::id).containsExactly("good");
      clock.addAndGet(TimeUnit.SECONDS.toNanos(2));
      List<ServedSandbox> served = registry.scan();
      assertThat(served).extracting(ServedSandbox::id).containsExactly("good", "stuck");
      ServedSandbox stuck = served.get(1);
      assertThat(stuck.isRunning()).isFalse();
      assertThat(stuck.verifier()).isNull();
      assertThat(stuck.notReadyReason()).contains(lock.toString()).contains("held for more than 8 s");
      // Named as well as the state file tells, read without the lock.
      assertThat(stuck.labels().get("sandbox")).isEqualTo("stuck");
      assertThat(stuck.labels().get("pod_name")).isEqualTo("pod-stuck");
      assertThat(served.get(0).notReadyReason()).isNull();
      assertThat(logLines("showing it as present and not running")).hasSize(1);
      registry.scan();
      assertThat(logLines("showing it as present and not running")).hasSize(1);
    } finally {
      holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    // Once the lock is released it is served like any other.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<ServedSandbox> after = registry.scan();
    while (after.stream().anyMatch(s -> s.notReadyReason() != null) && System.nanoTime() < deadline) {
      Thread.sleep(20);
      after = registry.scan();
    }
    assertThat(after).extracting(ServedSandbox::id).containsExactly("good", "stuck");
    assertThat(after.get(1).notReadyReason()).isNull();
    assertThat(after.get(1).verifier()).isNotNull();
    assertThat(after.get(1).isRunning()).isTrue();
  }

  @Test
  void lockedSandboxOfAnotherServerStaysInvisibleAndIsPeekedAtOnce() throws Exception {
    write("foreign", "pod-foreign", "localhost:9999");
    Path lock = root.resolve("foreign_sandbox:foreign.lock");
    AtomicLong clock = new AtomicLong();
    RootDirectory directory = new RootDirectory(root);
    SandboxRegistry registry =
        new SandboxRegistry(directory, root.toString(), ADDRESS, false, Duration.ofSeconds(8), clock::get);
    Process holder = new ProcessBuilder("flock", "-o", "-x", lock.toString(), "sleep", "60").start();
    try {
      awaitLocked(lock);
      assertThat(registry.scan()).isEmpty();
      clock.addAndGet(TimeUnit.SECONDS.toNanos(9));
      assertThat(registry.scan()).isEmpty();
      long reads = directory.stateFileReads();
      clock.addAndGet(TimeUnit.SECONDS.toNanos(9));
      assertThat(registry.scan()).isEmpty();
      assertThat(directory.stateFileReads()).isEqualTo(reads);
      assertThat(logLines("showing it as present")).isEmpty();
    } finally {
      holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void runningOutOfFileDescriptorsIsAPassingFailureNotAFactAboutTheFiles() throws Exception {
    write("s", "pod-s");
    RootDirectory directory = new RootDirectory(root);
    List<StateFileName> names = directory.listStateFiles();
    assertThat(directory.loadSandbox("s", names)).isInstanceOf(LoadResult.Loaded.class);
    // Classes of the failure path, loaded now: loading a class from target/classes takes a descriptor too.
    for (String c : List.of("dev.sandboxmetrics.posix.ErrnoException", "com.sun.jna.LastErrorException",
        "dev.sandboxmetrics.runsc.discovery.StateFileException")) {
      Class.forName(c);
    }

    // No descriptor left: the lock file cannot be opened. One left: the lock is taken, the state file
    // cannot be opened. (The registry's listing takes two, so these are the cases a scan meets when
    // connections take the last descriptors between its listing and its reads.)
    DiscoveryException lockFailure = null;
    DiscoveryException readFailure = null;
    try (FdLimit limit = FdLimit.leavingFree(0)) {
      directory.loadSandbox("s", names);
    } catch (DiscoveryException e) {
      lockFailure = e;
    }
    try (FdLimit limit = FdLimit.leavingFree(1)) {
      directory.loadSandbox("s", names);
    } catch (DiscoveryException e) {
      readFailure = e;
    }

    assertThat(lockFailure).isNotNull();
    assertThat(lockFailure.retryable()).isTrue();
    assertThat(lockFailure).hasMessageContaining("cannot lock").hasMessageContaining("Too many open files");
    assertThat(readFailure).isInstanceOf(StateFileException.class);
    assertThat(readFailure.retryable()).isTrue();
    assertThat(readFailure).hasMessageContaining("cannot be read").hasMessageContaining("Too many open files");
    assertThat(directory.loadSandbox("s", names)).isInstanceOf(LoadResult.Loaded.class);

    // Whereas what is wrong with a file stays wrong until it changes.
    Files.delete(root.resolve("s_sandbox:s.lock"));
    Files.createSymbolicLink(root.resolve("s_sandbox:s.lock"), elsewhere);
    try {
      directory.loadSandbox("s", names);
      throw new AssertionError("a symbolic link as the lock file was followed");
    } catch (DiscoveryException e) {
      assertThat(e.retryable()).isFalse();
    }
  }

  /**
   * Lowers this JVM's own descriptor limit ({@code RLIMIT_NOFILE}, through libc, which takes no
   * descriptor) so that exactly {@code free} descriptor numbers are left; restores it on close.
   */
  private static final class FdLimit implements AutoCloseable {
    private static final int RLIMIT_NOFILE = 7;
    private static final com.sun.jna.Function GET =
        com.sun.jna.NativeLibrary.getInstance("c").getFunction("getrlimit", com.sun.jna.Function.THROW_LAST_ERROR);
    private static final com.sun.jna.Function SET =
        com.sun.jna.NativeLibrary.getInstance("c").getFunction("setrlimit", com.sun.jna.Function.THROW_LAST_ERROR);

    private final com.sun.jna.Memory saved;

    private FdLimit(com.sun.jna.Memory saved) {
      this.saved = saved;
    }

    static FdLimit leavingFree(int free) throws IOException {
      com.sun.jna.Memory old = new com.sun.jna.Memory(16);
      GET.invokeInt(new Object[] {RLIMIT_NOFILE, old});
      java.util.Set<Integer> used = openDescriptors();
      int limit = 0;
      for (int seen = 0; seen < free; limit++) {
        if (!used.contains(limit)) {
          seen++;
        }
      }
      com.sun.jna.Memory lowered = new com.sun.jna.Memory(16);
      lowered.setLong(0, limit);
      lowered.setLong(8, old.getLong(8));
      SET.invokeInt(new Object[] {RLIMIT_NOFILE, lowered});
      return new FdLimit(old);
    }

    @Override
    public void close() {
      SET.invokeInt(new Object[] {RLIMIT_NOFILE, saved});
    }

    /** The descriptor numbers open in this process, without the one used to list them. */
    private static java.util.Set<Integer> openDescriptors() throws IOException {
      java.util.Set<Integer> used = new java.util.HashSet<>();
      Path self = Path.of("/proc/self/fd");
      Path listing = Path.of("/proc/" + ProcessHandle.current().pid() + "/fd");
      try (var entries = Files.newDirectoryStream(self)) {
        for (Path p : entries) {
          Path target;
          try {
            target = Files.readSymbolicLink(p);
          } catch (IOException e) {
            continue; // closed meanwhile
          }
          if (!target.equals(listing)) {
            used.add(Integer.parseInt(p.getFileName().toString()));
          }
        }
      }
      return used;
    }
  }

  /** Scans each hostile file alone with a fresh registry and collects the one-line report of each. */
  private String describeEach(RootDirectory directory) throws IOException {
    log.reset();
    List<String> reports = new ArrayList<>();
    try (var files = Files.list(root)) {
      for (Path p : files.collect(Collectors.toList())) {
        String name = p.getFileName().toString();
        if (!name.endsWith(".state") || name.startsWith("good_")) {
          continue;
        }
        String id = name.substring(name.indexOf(":") + 1, name.length() - ".state".length());
        Path alone = Files.createTempDirectory(elsewhere, "alone");
        Files.move(p, alone.resolve(name));
        Path lock = root.resolve(name.replace(".state", ".lock"));
        if (Files.exists(lock, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.move(lock, alone.resolve(lock.getFileName()));
        }
        new SandboxRegistry(new RootDirectory(alone), alone.toString(), ADDRESS, false).scan();
        reports.addAll(logLines(UNREADABLE));
        log.reset();
        assertThat(id).isNotEmpty();
      }
    }
    return String.join("\n", reports);
  }

  private List<String> logLines(String containing) {
    return log.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains(containing)).collect(Collectors.toList());
  }

  private void write(String id, String pod) throws Exception {
    write(id, pod, ADDRESS);
  }

  private void write(String id, String pod, String address) throws Exception {
    Instant created = Instant.parse("2026-01-02T03:04:05Z");
    ContainerRecord.Sandbox sandbox = new ContainerRecord.Sandbox(
        id, pod, "default", ProcessHandle.current().pid(), 0, 0, null, REGISTRATION, Map.of("version", "1"),
        address, root.resolve("runsc-" + id + ".sock").toString(), created, ContainerState.Checkpoint.NONE);
    List<String> caps = List.of("CAP_CHOWN");
    ContainerRecord container = new ContainerRecord(
        id, id, created, "running", "1.0.2", 0, 0, List.of("/pause"),
        new ContainerState.Capabilities(caps, caps, List.of(), caps, List.of()),
        Map.of(), pod, sandbox);
    StateFiles.write(root, container, ZoneOffset.UTC);
  }

  private static Path mkfifo(Path path) throws Exception {
    assertThat(run("mkfifo", path.toString())).isTrue();
    return path;
  }

  private static boolean run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return p.exitValue() == 0;
  }

  /** Polls until another process holds the lock (flock(1) starts asynchronously). */
  private static void awaitLocked(Path lock) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      try (var held = dev.sandboxmetrics.posix.Flock.tryLock(lock, false)) {
        if (held == null) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("flock(1) did not take " + lock);
  }

  /** Copies everything written to two streams. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) throws IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}
